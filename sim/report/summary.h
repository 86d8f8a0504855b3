/*
 * summary.csv: one row of key figures of a run, for comparing runs of a
 * parameter sweep or a regression baseline.
 */
#ifndef SUMMARY_H
#define SUMMARY_H

#include "sim/world/world.h"

void summary_write(struct world *w);

#endif
