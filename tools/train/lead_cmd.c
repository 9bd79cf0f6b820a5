/*
 * analytics-train lead: trains the lead model from the UCI Online Shoppers
 * CSV, predicts and evaluates with a model file, splits a data file the
 * way training holds rows out, and times the scorer's predict.
 */
#include "train.h"

#include "csv.h"
#include "lead_data.h"
#include "lead_split.h"
#include "lead_train.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/lead_model.h"
#include "analytics/model_eval.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Data files larger than this are refused (the UCI file is about 1 MB). */
#define LEAD_DATA_MAX_BYTES ((size_t)64 << 20)
#define LEAD_DEFAULT_SEED 42
#define LEAD_BENCH_CALLS 100000

enum lead_mode { LEAD_TRAIN, LEAD_PREDICT, LEAD_EVALUATE, LEAD_SPLIT, LEAD_BENCH };

struct lead_opts {
    enum lead_mode mode;
    bool mode_set, help;
    const char *data, *out, *model, *train_out, *test_out;
    const char *seed_arg, *holdout_arg, *calls_arg;
    uint64_t seed;
    double holdout; /* 0: none */
    long calls;
};

static const char lead_usage[] =
    "usage: analytics-train lead --data FILE.csv --out MODEL.json [--seed N] [--holdout F]\n"
    "       analytics-train lead --predict --model MODEL.json --data FILE.csv\n"
    "       analytics-train lead --evaluate --model MODEL.json --data FILE.csv\n"
    "       analytics-train lead --split --data FILE.csv --holdout F [--seed N]\n"
    "                            --train-out A.csv --test-out B.csv\n"
    "       analytics-train lead --bench --model MODEL.json --data FILE.csv [--calls N]\n"
    "\n"
    "Fits the lead score's conversion model (XGBoost, Platt-calibrated) from a\n"
    "CSV in the UCI Online Shoppers format, columns found by their header names.\n"
    "\n"
    "  --data FILE      the CSV (at most 64 MiB); Revenue TRUE/FALSE is the label\n"
    "  --out FILE       where training writes the model (XGBoost JSON; written whole\n"
    "                   or not at all)\n"
    "  --seed N         seeds the split, the folds and XGBoost (0..4294967295,\n"
    "                   default 42); the same data and seed give the same model\n"
    "  --holdout F      0 < F < 1: first holds out the fraction F of each class\n"
    "                   (shuffled by the seed), trains on the rest, then prints the\n"
    "                   hold-out's figures as one JSON line and stores them in the\n"
    "                   model; without it, trains on every row\n"
    "  --predict        prints the calibrated probability of each data row, in\n"
    "                   order, one per line (no label needed)\n"
    "  --evaluate       prints one JSON line: rows, positives, roc_auc, pr_auc\n"
    "                   (average precision), accuracy, f1 (at 0.5), brier,\n"
    "                   majority_accuracy\n"
    "  --split          writes the rows training with this --holdout and --seed\n"
    "                   holds out to --test-out and the rest to --train-out, each\n"
    "                   with the header, lines as they are in --data\n"
    "  --bench          times predict, and predict with contributions, over --calls\n"
    "                   calls (default 100000) on the data's rows; prints p50/p99\n"
    "\n"
    "Exit: 0 done, 1 a file could not be read or written, 64 bad options,\n"
    "65 bad data or a file that is not a lead model.\n";

/* One line on stderr, "analytics-train lead: <reason>", for bad options.
 * Returns 64. */
__attribute__((format(printf, 1, 2))) static int lead_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "analytics-train lead: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (--help for the options)\n");
    return TRAIN_EX_USAGE;
}

/* Sets the mode, refusing a second one. */
static int lead_set_mode(struct lead_opts *o, enum lead_mode m, const char *arg)
{
    if (o->mode_set) {
        return lead_usage_error("%s: only one of --predict, --evaluate, --split, --bench", arg);
    }
    o->mode = m;
    o->mode_set = true;
    return 0;
}

/* The option that takes a value, or NULL. */
static const char **lead_value_slot(struct lead_opts *o, const char *name)
{
    const struct {
        const char *name;
        const char **slot;
    } valued[] = {
        {"--data", &o->data},           {"--out", &o->out},           {"--model", &o->model},
        {"--train-out", &o->train_out}, {"--test-out", &o->test_out}, {"--seed", &o->seed_arg},
        {"--holdout", &o->holdout_arg}, {"--calls", &o->calls_arg},
    };

    for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
        if (strcmp(name, valued[i].name) == 0) {
            return valued[i].slot;
        }
    }
    return NULL;
}

/* Reads argv into *o: "--opt VALUE" or "--opt=VALUE". Returns 0 or 64. */
static int lead_parse_args(int argc, char **argv, struct lead_opts *o)
{
    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *arg = argv[i], *eq = strchr(arg, '='), *value = NULL;
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const char **slot;
        int rc = 0;

        if (nlen >= sizeof(name)) {
            return lead_usage_error("unknown option '%.40s'", arg);
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (strcmp(name, "--predict") == 0 || strcmp(name, "--evaluate") == 0 ||
            strcmp(name, "--split") == 0 || strcmp(name, "--bench") == 0) {
            if (eq != NULL) {
                return lead_usage_error("%s takes no value", name);
            }
            rc = lead_set_mode(o,
                               name[2] == 'p'   ? LEAD_PREDICT
                               : name[2] == 'e' ? LEAD_EVALUATE
                               : name[2] == 's' ? LEAD_SPLIT
                                                : LEAD_BENCH,
                               name);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        slot = lead_value_slot(o, name);
        if (slot == NULL) {
            return lead_usage_error("unknown option '%.40s'", arg);
        }
        value = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL || value[0] == '\0') {
            return lead_usage_error("%s needs a value", name);
        }
        if (*slot != NULL) {
            return lead_usage_error("%s given twice", name);
        }
        *slot = value;
    }
    return 0;
}

/* Parses --seed, --holdout and --calls. Returns 0 or 64. */
static int lead_parse_values(struct lead_opts *o)
{
    char *end;

    o->seed = LEAD_DEFAULT_SEED;
    if (o->seed_arg != NULL) {
        unsigned long long v;

        errno = 0;
        v = strtoull(o->seed_arg, &end, 10);
        if (o->seed_arg[0] < '0' || o->seed_arg[0] > '9' || *end != '\0' || errno != 0 ||
            v > 4294967295ULL) {
            return lead_usage_error("--seed '%.40s' is not a whole number 0..4294967295",
                                    o->seed_arg);
        }
        o->seed = v;
    }
    if (o->holdout_arg != NULL) {
        errno = 0;
        o->holdout = strtod(o->holdout_arg, &end);
        if (end == o->holdout_arg || *end != '\0' || errno != 0 || !(o->holdout > 0.0) ||
            !(o->holdout < 1.0)) {
            return lead_usage_error("--holdout '%.40s' is not a fraction between 0 and 1",
                                    o->holdout_arg);
        }
    }
    o->calls = LEAD_BENCH_CALLS;
    if (o->calls_arg != NULL) {
        errno = 0;
        o->calls = strtol(o->calls_arg, &end, 10);
        if (end == o->calls_arg || *end != '\0' || errno != 0 || o->calls < 1 ||
            o->calls > 100000000L) {
            return lead_usage_error("--calls '%.40s' is not a count 1..100000000", o->calls_arg);
        }
    }
    return 0;
}

/* Checks that the mode has what it needs and nothing it ignores. */
static int lead_check_opts(const struct lead_opts *o)
{
    /* Which options each mode takes: 'r' required, 'o' optional. */
    static const char *const names[] = {"--data",     "--out",  "--model",   "--train-out",
                                        "--test-out", "--seed", "--holdout", "--calls"};
    static const char takes[][8] = {
        [LEAD_TRAIN] = {'r', 'r', 0, 0, 0, 'o', 'o', 0},
        [LEAD_PREDICT] = {'r', 0, 'r', 0, 0, 0, 0, 0},
        [LEAD_EVALUATE] = {'r', 0, 'r', 0, 0, 0, 0, 0},
        [LEAD_SPLIT] = {'r', 0, 0, 'r', 'r', 'o', 'r', 0},
        [LEAD_BENCH] = {'r', 0, 'r', 0, 0, 0, 0, 'o'},
    };
    static const char *const mode_names[] = {
        [LEAD_TRAIN] = "training", [LEAD_PREDICT] = "--predict", [LEAD_EVALUATE] = "--evaluate",
        [LEAD_SPLIT] = "--split",  [LEAD_BENCH] = "--bench",
    };
    const char *given[] = {o->data,     o->out,      o->model,       o->train_out,
                           o->test_out, o->seed_arg, o->holdout_arg, o->calls_arg};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char t = takes[o->mode][i];

        if (t == 'r' && given[i] == NULL) {
            return lead_usage_error("%s needs %s", mode_names[o->mode], names[i]);
        }
        if (t == 0 && given[i] != NULL) {
            return lead_usage_error("%s does not take %s", mode_names[o->mode], names[i]);
        }
    }
    return 0;
}

/* Reads the data file into *c and *d. Returns 0, 1 (cannot be read) or 65
 * (message printed). */
static int lead_read_data(const char *path, int want_label, struct csv *c, struct lead_data *d)
{
    char err[512];
    struct stat st;

    if (path == NULL) { /* lead_check_opts requires it; said for the analyzer */
        return TRAIN_EX_USAGE;
    }
    if (stat(path, &st) == -1) {
        fprintf(stderr, "analytics-train lead: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (csv_read(c, path, LEAD_DATA_MAX_BYTES, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        return TRAIN_EX_DATAERR;
    }
    if (lead_data_from_csv(c, path, want_label, d, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        csv_free(c);
        return TRAIN_EX_DATAERR;
    }
    if (d->rows == 0) {
        fprintf(stderr, "analytics-train lead: %s: no data rows\n", path);
        lead_data_free(d);
        csv_free(c);
        return TRAIN_EX_DATAERR;
    }
    return 0;
}

/* Loads the model file. Returns the model, or NULL with the exit code in
 * *rc (1 cannot be read, 65 not a lead model; message printed). */
static struct lead_model *lead_open_model(const char *path, int *rc)
{
    char err[512];
    struct stat st;
    struct lead_model *m;

    if (path == NULL) { /* lead_check_opts requires it; said for the analyzer */
        *rc = TRAIN_EX_USAGE;
        return NULL;
    }
    if (stat(path, &st) == -1) {
        fprintf(stderr, "analytics-train lead: %s: %s\n", path, strerror(errno));
        *rc = 1;
        return NULL;
    }
    m = lead_model_load(path, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        *rc = TRAIN_EX_DATAERR;
    }
    return m;
}

/* The calibrated probability of each of d's rows into prob. */
static int lead_predict_rows(struct lead_model *m, const struct lead_data *d, double *prob)
{
    char err[256];
    struct lead_prediction p;

    for (size_t i = 0; i < d->rows; i++) {
        if (lead_model_predict(m, &d->x[i * LEAD_F_COUNT], &p, err, sizeof(err)) != 0) {
            fprintf(stderr, "analytics-train lead: row %zu: %s\n", i + 1, err);
            return -1;
        }
        prob[i] = p.probability;
    }
    return 0;
}

/* The evaluation of m on d as the JSON line, into json. */
static int lead_evaluate_rows(struct lead_model *m, const struct lead_data *d, char *json,
                              size_t len)
{
    double *prob = malloc(d->rows * sizeof(*prob));
    int *label = malloc(d->rows * sizeof(*label));
    struct model_eval e;
    int rc = -1;

    if (prob == NULL || label == NULL) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        goto out;
    }
    if (lead_predict_rows(m, d, prob) != 0) {
        goto out;
    }
    for (size_t i = 0; i < d->rows; i++) {
        label[i] = d->y[i] != 0.0f;
    }
    if (model_eval_all(prob, label, d->rows, 0.5, &e) != 0 ||
        lead_train_eval_json(&e, json, len) != 0) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    free(prob);
    free(label);
    return rc;
}

/* --predict and --evaluate. */
static int lead_run_apply(const struct lead_opts *o)
{
    struct csv c = {0};
    struct lead_data d = {0};
    struct lead_model *m;
    int rc;

    m = lead_open_model(o->model, &rc);
    if (m == NULL) {
        return rc;
    }
    rc = lead_read_data(o->data, o->mode == LEAD_EVALUATE, &c, &d);
    if (rc != 0) {
        lead_model_free(m);
        return rc;
    }
    if (o->mode == LEAD_EVALUATE) {
        char json[512];

        rc = lead_evaluate_rows(m, &d, json, sizeof(json)) == 0 ? 0 : 1;
        if (rc == 0) {
            printf("%s\n", json);
        }
    } else {
        double *prob = malloc(d.rows * sizeof(*prob));

        rc = prob != NULL && lead_predict_rows(m, &d, prob) == 0 ? 0 : 1;
        for (size_t i = 0; rc == 0 && i < d.rows; i++) {
            printf("%.6f\n", prob[i]);
        }
        free(prob);
    }
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "analytics-train lead: stdout: %s\n", strerror(errno));
        rc = 1;
    }
    lead_data_free(&d);
    csv_free(&c);
    lead_model_free(m);
    return rc;
}

/* The seconds since *t0. */
static double lead_elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Fits Platt scaling on out-of-fold margins of train, then the final
 * booster on all of train. Returns 0, or 1 / 65 (message printed). */
static int lead_fit_calibrated(const struct lead_data *train, uint64_t seed, void **booster,
                               double *a, double *b)
{
    const struct lead_params *p = &lead_params_chosen;
    double *oof = malloc(train->rows * sizeof(*oof));
    char err[512];
    int rc = 1;

    *booster = NULL;
    if (oof == NULL) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        return 1;
    }
    if (lead_train_oof(train, p, seed, &p->rounds, 1, oof, err, sizeof(err)) != 0 ||
        lead_train_fit(train, p, seed, booster, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        goto out;
    }
    if (lead_train_platt(oof, train->y, train->rows, a, b) != 0) {
        fprintf(stderr, "analytics-train lead: the calibration does not converge\n");
        rc = TRAIN_EX_DATAERR;
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        lead_train_free(*booster);
        *booster = NULL;
    }
    free(oof);
    return rc;
}

/* Evaluates booster, as it will be saved with meta, on test; the JSON
 * line into json. */
static int lead_holdout_eval(void *booster, const struct lead_model_meta *meta,
                             const struct lead_data *test, char *json, size_t len)
{
    char err[512];
    struct lead_model *m = lead_model_from_booster(booster, meta, err, sizeof(err));
    int rc;

    if (m == NULL) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        return -1;
    }
    rc = lead_evaluate_rows(m, test, json, len);
    lead_model_free(m);
    return rc;
}

/* The rows of d the mask puts in (in 1) or out of the hold-out. */
static int lead_part(const struct lead_data *d, const unsigned *test, int in, struct lead_data *out)
{
    if (lead_data_select(d, test, 1, in, out) != 0) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        return -1;
    }
    return 0;
}

/* The hold-out mask of d (all 0 without --holdout), or NULL. */
static unsigned *lead_mask(const struct lead_opts *o, const struct lead_data *d)
{
    unsigned *test = calloc(d->rows, sizeof(*test));

    if (test == NULL ||
        (o->holdout > 0.0 && lead_data_split(d->y, d->rows, o->holdout, o->seed, test) != 0)) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        free(test);
        return NULL;
    }
    return test;
}

/* Training after the data is read: split, fit, evaluate, save. */
static int lead_train_data(const struct lead_opts *o, const char *raw, size_t rawlen,
                           const struct lead_data *d)
{
    struct lead_data train = {0}, test = {0};
    struct lead_model_meta meta = {0};
    unsigned *mask = lead_mask(o, d);
    char version[18], err[512], json[512];
    struct timespec t0;
    void *booster = NULL;
    int rc = 1;
    size_t pos;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (mask == NULL || lead_part(d, mask, 0, &train) != 0 || lead_part(d, mask, 1, &test) != 0) {
        goto out;
    }
    pos = lead_data_positives(&train);
    if (pos < LEAD_TRAIN_FOLDS || train.rows - pos < LEAD_TRAIN_FOLDS) {
        fprintf(stderr,
                "analytics-train lead: %s: %zu training rows, %zu positive: too few "
                "of a class to train\n",
                o->data, train.rows, pos);
        rc = TRAIN_EX_DATAERR;
        goto out;
    }
    if (o->holdout > 0.0 && test.rows == 0) {
        fprintf(stderr, "analytics-train lead: %s: --holdout %g of %zu rows holds out none\n",
                o->data, o->holdout, d->rows);
        rc = TRAIN_EX_DATAERR;
        goto out;
    }
    rc = lead_fit_calibrated(&train, o->seed, &booster, &meta.calibration_a, &meta.calibration_b);
    if (rc != 0) {
        goto out;
    }
    rc = 1;
    lead_train_version(raw, rawlen, o->seed, o->holdout, &lead_params_chosen, version);
    meta.version = version;
    if (o->holdout > 0.0) {
        if (lead_holdout_eval(booster, &meta, &test, json, sizeof(json)) != 0) {
            goto out;
        }
        meta.evaluation = json;
    }
    if (lead_model_save(booster, &meta, o->out, err, sizeof(err)) != 0) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        goto out;
    }
    if (meta.evaluation != NULL) {
        printf("%s\n", json);
    }
    fprintf(stderr,
            "analytics-train lead: %s: %zu training rows (%zu positive), %zu held out, "
            "%.1f s; wrote %s\n",
            version, train.rows, pos, test.rows, lead_elapsed(&t0), o->out);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    lead_train_free(booster);
    lead_data_free(&train);
    lead_data_free(&test);
    free(mask);
    return rc;
}

/* Training. */
static int lead_run_train(const struct lead_opts *o)
{
    struct csv c = {0};
    struct lead_data d = {0};
    char err[512];
    size_t rawlen = 0;
    char *raw;
    int rc = lead_read_data(o->data, 1, &c, &d);

    if (rc != 0) {
        return rc;
    }
    /* The bytes the version is a hash of. */
    raw = fileio_read(o->data, LEAD_DATA_MAX_BYTES, &rawlen, err, sizeof(err));
    if (raw == NULL) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        rc = 1;
    } else {
        rc = lead_train_data(o, raw, rawlen, &d);
    }
    free(raw);
    lead_data_free(&d);
    csv_free(&c);
    return rc;
}

/* --split. */
static int lead_run_split(const struct lead_opts *o)
{
    struct csv c = {0};
    struct lead_data d = {0};
    unsigned *mask = NULL;
    char err[512];
    size_t rawlen = 0;
    char *raw = NULL;
    int rc = lead_read_data(o->data, 1, &c, &d);

    if (rc != 0) {
        return rc;
    }
    rc = 1;
    mask = lead_mask(o, &d);
    raw = fileio_read(o->data, LEAD_DATA_MAX_BYTES, &rawlen, err, sizeof(err));
    if (mask == NULL || raw == NULL) {
        if (raw == NULL) {
            fprintf(stderr, "analytics-train lead: %s\n", err);
        }
        goto out;
    }
    rc = lead_split_files(o->data, raw, rawlen, &c, mask, o->train_out, o->test_out, err,
                          sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "analytics-train lead: %s\n", err);
        rc = rc == LEAD_SPLIT_ELINE ? TRAIN_EX_DATAERR : 1;
    }
out:
    free(raw);
    free(mask);
    lead_data_free(&d);
    csv_free(&c);
    return rc;
}

/* Orders doubles ascending (qsort). */
static int lead_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Times calls of predict (explain when explain) over d's rows; p50 and p99
 * in microseconds. */
static int lead_time_calls(struct lead_model *m, const struct lead_data *d, long calls,
                           bool explain, double *p50, double *p99)
{
    double *us = malloc((size_t)calls * sizeof(*us));
    struct lead_prediction p;
    char err[256];

    if (us == NULL) {
        fprintf(stderr, "analytics-train lead: out of memory\n");
        return -1;
    }
    for (long i = -1000; i < calls; i++) {
        const float *x = &d->x[((size_t)(i + 1000) % d->rows) * LEAD_F_COUNT];
        struct timespec t0;
        int rc;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = explain ? lead_model_explain(m, x, &p, err, sizeof(err))
                     : lead_model_predict(m, x, &p, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "analytics-train lead: %s\n", err);
            free(us);
            return -1;
        }
        if (i >= 0) { /* the first 1000 warm the caches */
            us[i] = lead_elapsed(&t0) * 1e6;
        }
    }
    qsort(us, (size_t)calls, sizeof(*us), lead_cmp_double);
    *p50 = us[calls / 2];
    *p99 = us[(size_t)((double)calls * 0.99)];
    free(us);
    return 0;
}

/* --bench. */
static int lead_run_bench(const struct lead_opts *o)
{
    struct csv c = {0};
    struct lead_data d = {0};
    struct lead_model *m;
    struct rusage ru;
    double p50, p99, e50, e99;
    int rc;

    m = lead_open_model(o->model, &rc);
    if (m == NULL) {
        return rc;
    }
    rc = lead_read_data(o->data, 0, &c, &d);
    if (rc == 0) {
        rc = lead_time_calls(m, &d, o->calls, false, &p50, &p99) == 0 &&
                     lead_time_calls(m, &d, o->calls, true, &e50, &e99) == 0
                 ? 0
                 : 1;
    }
    if (rc == 0) {
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"calls\":%ld,\"predict_p50_us\":%.2f,\"predict_p99_us\":%.2f,"
               "\"explain_p50_us\":%.2f,\"explain_p99_us\":%.2f,\"max_rss_kb\":%ld}\n",
               o->calls, p50, p99, e50, e99, ru.ru_maxrss);
    }
    lead_data_free(&d);
    csv_free(&c);
    lead_model_free(m);
    return rc;
}

int train_lead_main(int argc, char **argv)
{
    struct lead_opts o = {0};
    int rc = lead_parse_args(argc, argv, &o);

    if (rc != 0) {
        return rc;
    }
    if (o.help) {
        fputs(lead_usage, stdout);
        return 0;
    }
    if (!o.mode_set) {
        o.mode = LEAD_TRAIN;
    }
    rc = lead_parse_values(&o);
    if (rc == 0) {
        rc = lead_check_opts(&o);
    }
    if (rc != 0) {
        return rc;
    }
    switch (o.mode) {
    case LEAD_TRAIN:
        return lead_run_train(&o);
    case LEAD_PREDICT:
    case LEAD_EVALUATE:
        return lead_run_apply(&o);
    case LEAD_SPLIT:
        return lead_run_split(&o);
    case LEAD_BENCH:
        return lead_run_bench(&o);
    }
    return 1;
}
