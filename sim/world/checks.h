/*
 * Evaluating scenario expectations against the running world, and
 * recording every outcome in expectations.csv. A failure is also kept for
 * the run's output, with the file and line of the expectation.
 */
#ifndef CHECKS_H
#define CHECKS_H

#include "sim/world/world.h"

/* Evaluates every assertion of an "expect" entry. */
void checks_run(struct world *w, const struct scn_entry *e);

/* Records an integer outcome of another kind of entry (a doveadm command's
 * exit code): a failure unless actual == expected. */
void checks_record(struct world *w, const struct scn_entry *e, const char *subject,
                   const char *assertion, int expected, int actual, const char *detail);

/* The invariants every run must keep, checked at the end whatever the
 * scenario says: no user moved twice within the balancing cool time (by a
 * move that has to respect it) and no user lost. */
void checks_invariants(struct world *w);

/* The imbalance of a set of backends: max over mean of users per unit of
 * load factor, over the live online backends of site (-1: every site) in
 * replica r. Returns 0 when there is no such backend. */
double checks_imbalance(const struct world *w, int r, int site);

#endif
