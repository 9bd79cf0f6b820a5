#include "train.h"

#include <stdio.h>

int train_lead_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "analytics-train lead: not built yet\n");
    return 1;
}
