/*
 * `clustersim baseline record|check`: threshold regression tests. record
 * runs scenarios on K seeds and writes each chosen metric's mean, sd and n
 * to a CSV file meant to be committed; check reruns them on other seeds
 * and fails when a metric moved (Welch's t test, see docs/cli.md).
 */
#ifndef BASELINE_H
#define BASELINE_H

int baseline_main(int argc, char **argv);

#endif
