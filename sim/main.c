/*
 * clustersim: one binary, several subcommands. Each subcommand lives in its
 * own module; main() only dispatches, so that tests can call the same
 * entry points in-process.
 */
#include <stdio.h>
#include <string.h>

#include "sim/doveadm/director_cli.h"
#include "sim/doveadm/doveadm.h"
#include "sim/explore/explore.h"
#include "sim/run.h"
#include "sim/scenario/settings_cmd.h"
#include "sim/sweep/baseline.h"
#include "sim/sweep/sweep.h"

#define CLUSTERSIM_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clustersim <command> [args]\n"
            "\n"
            "commands:\n"
            "  run SCENARIO [--seed N] [--out DIR] [--set KEY=VALUE|PATH=VALUE]... [--lean] [--junit F]\n"
            "                      simulate a scenario file and write its report\n"
            "  sweep PLAN.json [--jobs N] [--sshlogin LOGIN]... [--slf FILE] [--out DIR] [--junit F]\n"
            "                      run a plan's cells x seeds with GNU parallel; runs.csv, aggregate.csv\n"
            "  explore [BASE.json] --runs N [--seed S] [--jobs J] --out DIR\n"
            "                      draw runs of faults and commands, check invariants, shrink failures\n"
            "  baseline record|check ...\n"
            "                      record scenario metrics over seeds; check them on new seeds\n"
            "  doveadm [--geodb FILE] [-f FMT] [-o k=v]... cluster|director ...\n"
            "                      run doveadm cluster or director commands against a GeoDB file\n"
            "  director lookup|login [--geodb FILE] [--tag TAG] [-o k=v]... < USERS\n"
            "                      where each user is hashed now (lookup) or goes (login), as CSV\n"
            "  settings [--markdown]\n"
            "                      list every setting with its default and why\n"
            "  version             print the version\n"
            "  help                this text\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 64;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return run_main(argc - 2, argv + 2);
    if (strcmp(cmd, "sweep") == 0)
        return sweep_main(argc - 2, argv + 2);
    if (strcmp(cmd, "explore") == 0)
        return explore_main(argc - 2, argv + 2);
    if (strcmp(cmd, "baseline") == 0)
        return baseline_main(argc - 2, argv + 2);
    if (strcmp(cmd, "doveadm") == 0)
        return doveadm_main(argc - 2, argv + 2);
    if (strcmp(cmd, "director") == 0)
        return director_cli_main(argc - 2, argv + 2);
    if (strcmp(cmd, "settings") == 0)
        return settings_cmd_main(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("clustersim %s\n", CLUSTERSIM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "clustersim: unknown command '%s'\n", cmd);
    usage(stderr);
    return 64;
}
