/*
 * Range checks of a GeoDB's stored values. A GeoDB file may come from
 * anywhere (copied, edited by hand with sqlite3, damaged): every number the
 * code does arithmetic with -- timestamps, writer keys, counts, load
 * factors and percentages, the director's times -- is checked once when a
 * command opens the file, so that a damaged value is a clear error rather
 * than an overflow or a failed assertion later.
 */
#ifndef GEODB_CHECK_H
#define GEODB_CHECK_H

struct geodb;

/* GEODB_OK, or GEODB_CORRUPT with geodb_errmsg() naming the first value
 * out of range (table, column, row), or another failure of reading. */
int geodb_check_values(struct geodb *db);

#endif
