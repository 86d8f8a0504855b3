/*
 * Printing the settings registry, as a table for a terminal or as the
 * markdown table the README embeds.
 */
#include "sim/scenario/settings_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "sim/scenario/params.h"

static void print_markdown(const struct setting_def *table, int n, const void *defaults)
{
    char def[64], lo[32], hi[32];
    for (int i = 0; i < n; i++) {
        const struct setting_def *d = &table[i];
        settings_format(d, defaults, def, sizeof(def));
        if (d->type == SETTING_ENUM) {
            char words[128] = "";
            for (int w = 0; d->words[w] != NULL; w++)
                snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s",
                         w ? ", " : "", d->words[w]);
            snprintf(lo, sizeof(lo), "%s", "");
            printf("| `%s` | %s | %s | %s | %s |\n", d->name, def, words, d->doc, d->why);
            continue;
        }
        settings_format_value(d, d->min, lo, sizeof(lo));
        settings_format_value(d, d->max, hi, sizeof(hi));
        /* A ratio's unit is its form, already visible in the number. */
        const char *unit = strcmp(d->unit, "ratio") == 0 ? "" : d->unit;
        printf("| `%s` | %s%s%s | %s..%s | %s | %s |\n", d->name, def, unit[0] ? " " : "", unit,
               lo, hi, d->doc, d->why);
    }
}

static void print_text(const struct setting_def *table, int n, const void *defaults)
{
    char def[64];
    for (int i = 0; i < n; i++) {
        settings_format(&table[i], defaults, def, sizeof(def));
        printf("%-48s %-12s %s\n", table[i].name, def, table[i].unit);
        printf("    %s\n", table[i].doc);
    }
}

int settings_cmd_main(int argc, char **argv)
{
    bool markdown = argc == 1 && strcmp(argv[0], "--markdown") == 0;
    if (argc > 0 && !markdown) {
        fprintf(stderr, "usage: clustersim settings [--markdown]\n");
        return 64;
    }
    struct ctl_settings ctl;
    struct sim_params sim;
    settings_defaults(ctl_settings_table, ctl_settings_count, &ctl);
    settings_defaults(sim_params_table, sim_params_count, &sim);
    if (markdown) {
        printf("| Setting | Default | Range | What it controls | Why this default |\n");
        printf("|---|---|---|---|---|\n");
        print_markdown(ctl_settings_table, ctl_settings_count, &ctl);
        print_markdown(sim_params_table, sim_params_count, &sim);
    } else {
        print_text(ctl_settings_table, ctl_settings_count, &ctl);
        print_text(sim_params_table, sim_params_count, &sim);
    }
    return 0;
}
