/*
 * ISO 8601 date-times for the scenario's `start` and every report that shows
 * wall-clock dates. Only the one form a scenario needs is read
 * (YYYY-MM-DDTHH:MM[:SS] with Z or an offset), and only UTC is written, so a
 * report reads the same on every machine whatever its time zone: no
 * mktime/localtime, the calendar arithmetic is done here.
 */
#ifndef ISOTIME_H
#define ISOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Years accepted: the Unix epoch onwards, four digits. */
#define ISOTIME_YEAR_MIN 1970
#define ISOTIME_YEAR_MAX 9999
/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define ISOTIME_SIZE 21

/* Parses "2026-03-02T08:00:00Z", "2026-03-02T09:00:00+01:00",
 * "2026-03-02T08:00Z" (seconds may be left out, the offset may be +HHMM).
 * Returns 0 with the UTC seconds since the epoch in *out, or -1. */
int isotime_parse(const char *text, int64_t *out);
/* Formats UTC seconds since the epoch as "2026-03-02T08:00:00Z". */
void isotime_format(int64_t epoch_s, char *out, size_t size);
/* The same with a space and no zone ("2026-03-02 08:00"): axis labels. */
void isotime_format_short(int64_t epoch_s, char *out, size_t size);

#endif
