/*
 * Overrides of scenario values from the command line: `--set PATH=VALUE`,
 * where PATH is a dotted path into the scenario's JSON ("users.count",
 * "sites.DC1.backends.count", "timeline.3.at"). Objects are entered by key,
 * arrays by index or, for arrays of named objects (sites, backends), by the
 * element's "name". VALUE is JSON when it parses as JSON (a number, true,
 * false, an object, a quoted string) and a plain string otherwise ("2h").
 *
 * Overrides edit the parsed document before the loader walks it, so every
 * override is checked exactly as the file's own values are.
 */
#ifndef OVERRIDE_H
#define OVERRIDE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OVERRIDE_PTR_SIZE 512

/* True when the key of a --set argument ("KEY=VALUE") is a scenario path:
 * it contains a dot or is a top-level scenario key. Anything else is a
 * setting name. */
bool override_is_path(const char *arg);

/* Applies "PATH=VALUE" to root. Returns 0 with ptr set to the JSON Pointer
 * of the highest value it replaced or created (messages about anything at
 * or under it name the override), or -1 with a message in err
 * ("no site DC9", "timeline has 12 entries (0..11)"). */
int override_apply(json_t *root, const char *text, char *ptr, size_t ptr_size, char *err,
                   size_t err_size);

#endif
