/*
 * `doveadm director ...`: the Dovecot 2.3 director's admin commands against
 * the director state kept in the GeoDB file, with Dovecot 2.3.19's
 * semantics, messages, exit codes and output layouts. Each command loads
 * the state, applies the one operation at the command's virtual time and
 * saves it, so a sequence of commands on a file behaves like the same
 * sequence sent to one long-running director.
 *
 * The clock: a command runs at -o director_now=SECONDS when given, else at
 * the simulation's time when a scenario runs it, else (the command line)
 * one virtual second after the stored director clock for a writing command
 * and at the stored clock for a reading one; never before the stored clock.
 *
 * The initial config (director_mail_servers, which Dovecot freezes at
 * startup for `status USER`'s "Initial config:" and for `dump`) is fixed
 * when the state is created: -o director_mail_servers=... if given, else
 * the host of the `add` that creates the state.
 */
#ifndef DOVEADM_DIRECTOR_H
#define DOVEADM_DIRECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/director.h"
#include "sim/doveadm/doveadm.h"

extern const struct doveadm_cmd doveadm_director_cmds[];
extern const int doveadm_director_ncmds;

/* A director loaded from ctx->db for one command. */
struct doveadm_director_state {
    struct director *d;
    int64_t clock_s; /* the stored clock; -1 when the file holds no state yet */
    int64_t now_s;   /* the command's time */
};

/*
 * Loads the state of ctx->db at the command's time (see above), or creates
 * it when the file holds none, from -o director_mail_servers or else from
 * initial (NULL: none, which is then an error). write says whether the
 * command writes (which moves the command-line clock on). Prints any error
 * and returns a doveadm exit code; on success the caller owns st->d.
 */
int doveadm_director_open(struct doveadm_ctx *ctx, bool write, const char *initial,
                          struct doveadm_director_state *st);
/* Saves st->d at st->now_s; ctx->db must be in a transaction. */
int doveadm_director_save(struct doveadm_ctx *ctx, const struct doveadm_director_state *st);
void doveadm_director_close(struct doveadm_director_state *st);

#endif
