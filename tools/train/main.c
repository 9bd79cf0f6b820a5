/* analytics-train: fits the scorer's models offline. Dispatch only. */
#include "train.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"lead", train_lead_main, "the lead score's conversion model (XGBoost)"},
    {"bgnbd", train_bgnbd_main, "the churn model (BG/NBD, maximum likelihood)"},
    {"segments", train_segments_main, "the personas (k-means++ on standardised profiles)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: analytics-train COMMAND [OPTIONS]   (COMMAND --help for its options)\n\n"
                 "Fits the scorer's models from files or the database.\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].what);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("analytics-train %s\n", ANALYTICS_VERSION);
        return 0;
    }
    for (size_t i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    if (argc >= 2) {
        fprintf(stderr, "analytics-train: unknown command '%s'\n", argv[1]);
    }
    usage(stderr);
    return TRAIN_EX_USAGE;
}
