/*
 * `clustersim run`: the simulator's command line (see run.c).
 */
#ifndef RUN_H
#define RUN_H

/* argv starts after "run". Returns the process exit code. */
int run_main(int argc, char **argv);

#endif
