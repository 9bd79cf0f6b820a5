#include "train.h"

#include <stdio.h>

int train_segments_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "analytics-train segments: not built yet\n");
    return 1;
}
