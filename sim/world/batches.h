/*
 * Batch moves, carried out: `doveadm cluster user batch move` records a
 * request row; the simulation picks the users (a source backend's users in
 * arrival order, or a source site's, skipping users already moving or
 * moved within --min-last-moved), marks each one moving to a destination
 * with the move protocol, and triggers BATCH_MOVES_PER_SEC of those moves a
 * second (each as `user access` would), keeping the row's moved count and
 * state current. `batch move stop` cancels the moves not yet triggered.
 */
#ifndef BATCHES_H
#define BATCHES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cluster.h"

#define BATCHES_MAX 16

struct world;

struct batch {
    bool used;
    bool finished; /* done or stopped, its row written */
    char id[CLUSTER_ID_SIZE];
    int replica;      /* the replica the command ran on; it carries the batch out */
    uint32_t *users;  /* marked users, in order */
    uint32_t marked;
    uint32_t next;    /* users[next..] are not triggered yet */
    uint32_t moved;   /* moves completed */
    uint32_t dropped; /* users no longer moving for this batch (cancelled, overwritten) */
    int64_t written_moved; /* moved count last written to the row */
};

struct batches {
    struct batch slots[BATCHES_MAX];
    uint8_t *slot_of; /* per user: slot + 1 of its batch, 0 none */
    bool tick_scheduled;
};

/* Picks up batch requests and stops recorded in replica r by a command
 * run as site. Returns 0, or -1 with w->error set. */
int batches_sync(struct world *w, int r, int site);
/* EV_BATCH: a second of triggering. */
void batches_tick(struct world *w);
/* A move of the user completed (reason batch). */
void batches_moved(struct world *w, uint32_t user);
void batches_free(struct world *w);

#endif
