/*
 * The proxies: every login and LMTP delivery enters at the user's home site
 * (its front load balancer), is routed by that site's proxies from their
 * replica's user cache, and lands on a backend that accepts or fails it.
 * Counters follow Dovecot's proxy_session_* and lmtp_rcpt_finished_*
 * metrics: referrals during moves are counted separately and are never
 * failures (auth temp-fails are not modelled).
 */
#ifndef TRAFFIC_H
#define TRAFFIC_H

#include <stdint.h>

#include "sim/world/world.h"

void traffic_login(struct world *w, uint32_t user, int64_t t_ms, int64_t session_ms);
void traffic_delivery(struct world *w, uint32_t user, int64_t t_ms);
/* A session in progress at t = 0 on the user's current backend (no login
 * is counted). */
void traffic_warm_session(struct world *w, uint32_t user, int64_t end_ms);
/* Ends every session whose end time is at or before t_ms. */
void traffic_expire_sessions(struct world *w, int64_t t_ms);

/* Writes every proxy's per-destination counters (proxy_dest_stats) to its
 * site's replica. Returns 0, or -1 with w->error set. */
int traffic_write_proxy_stats(struct world *w);

/* Allocates the proxies' counters of the scenario's sites. */
int traffic_init(struct world *w);
void traffic_free(struct world *w);

/* Routes an access of the user without traffic (doveadm `user access`, the
 * move supervisor's retry). Returns the backend or -1. */
int traffic_route(struct world *w, uint32_t user);

#endif
