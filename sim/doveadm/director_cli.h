/*
 * `clustersim director ...`: bulk questions to the director state of a
 * GeoDB file, for scripts and for the conformance suite.
 *
 *   lookup [--geodb FILE] [--tag TAG] [-o director_username_hash=FMT]
 *       reads usernames on stdin, one per line, and prints CSV user,host:
 *       where each user is hashed now (the current ring, like the Hashed:
 *       line of `doveadm director status USER`). Changes nothing.
 *   login [--geodb FILE] [--tag TAG] [-o director_now=SECONDS]...
 *       logs each username in, as a login process asks the director, and
 *       prints CSV user,host: where the user goes (the live assignment if
 *       any, else the ring's choice, which is then assigned). Saves the state.
 *
 * Exit codes are doveadm's: 0, 64 usage, 68 no such file or state, 75 other.
 */
#ifndef DIRECTOR_CLI_H
#define DIRECTOR_CLI_H

#include <stdio.h>

/* argv starts after "director". */
int director_cli_run(int argc, char **argv, FILE *in, FILE *out, FILE *err);
int director_cli_main(int argc, char **argv);

#endif
