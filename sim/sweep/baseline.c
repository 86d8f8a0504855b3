/* placeholder */
#include "sim/sweep/baseline.h"

#include <stdio.h>

int baseline_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clustersim baseline: not yet\n");
    return 2;
}
