/*
 * The whole state of one Dovecot 2.3 director kept in the GeoDB file: its
 * settings (director_username_hash, director_user_expire, the initial
 * director_mail_servers, the users capacity), its tags in order with their
 * expiry timers, its hosts, its user entries per tag in list order, and its
 * clock. `clustersim doveadm director` and `clustersim director` load it
 * into a struct director, apply one command and save it back, so that a
 * file replays exactly what a long-running director would have done.
 *
 * This state belongs to a single director: it is not part of the per-cell
 * last-write-wins replication of the Palomar tables, so it is stored in
 * plain tables (no timestamps, writers or tombstones).
 */
#ifndef GEODB_DIRECTOR_H
#define GEODB_DIRECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/director.h"

struct geodb;

/* Whether the file holds director state. A file created before the
 * director tables existed holds none. */
int geodb_director_exists(struct geodb *db, bool *exists);

/*
 * Creates a director from the stored settings and restores the stored
 * state into it; *clock_s is the time the state was saved at. GEODB_NOTFOUND
 * when the file holds no director state, GEODB_INVALID (with a reason in
 * err) when the stored state is inconsistent.
 */
int geodb_director_load(struct geodb *db, struct director **out, int64_t *clock_s, char *err,
                        size_t err_size);

/* Replaces the stored state with d's at clock_s. Must run inside the
 * caller's transaction, so that a failed command changes nothing. */
int geodb_director_save(struct geodb *db, const struct director *d, int64_t clock_s);

#endif
