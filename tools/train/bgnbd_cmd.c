#include "train.h"

#include <stdio.h>

int train_bgnbd_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "analytics-train bgnbd: not built yet\n");
    return 1;
}
