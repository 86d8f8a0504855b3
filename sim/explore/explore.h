/*
 * `clustersim explore [BASE.json] --runs N [--seed S] [--jobs J] --out DIR`:
 * swarm fault exploration (docs/explore.md). Each run is drawn from its own
 * seed (draw.h), written as a scenario file, run as a `clustersim run`
 * child process (runner.h, J at a time), and every failing run is shrunk
 * to a minimal scenario (shrink.h). DIR/runs.csv lists every run.
 */
#ifndef EXPLORE_H
#define EXPLORE_H

/* argv starts after "explore". Returns the exit code: 0 every run passed,
 * 1 some run failed, 2 bad input or an error. */
int explore_main(int argc, char **argv);

#endif
