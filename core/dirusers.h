/*
 * One tag's user directory of the Dovecot 2.3 director: user hash -> {host,
 * timestamp}. Entries sit in a doubly linked list in *approximate* timestamp
 * order and expire by a walk from the head that stops at the first live
 * entry; moves update the timestamp in place, so expired entries can linger
 * behind a moved one exactly as in Dovecot (director.md section 3). The
 * walk also runs from an expiry timer, modelled here because its schedule is
 * observable: it is re-armed for the head's expiry only when a walk runs.
 */
#ifndef DIRUSERS_H
#define DIRUSERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dirusers_result {
    DIRUSERS_OK = 0,
    DIRUSERS_ERR_EXISTS,
    DIRUSERS_ERR_FULL,
    DIRUSERS_ERR_NOMEM,
    DIRUSERS_ERR_INVALID,
};

struct dirusers_entry {
    uint32_t hash;
    uint32_t host_id;
    int64_t timestamp_s;
    /* A move's kick runs until this time; 0 when none ever ran. */
    int64_t kill_until_s;
};

/* Position in a list walk; the next entry is fetched ahead, so the current
 * one may be removed or changed in place while walking. */
struct dirusers_iter {
    uint32_t next;
};

struct dirusers;

/* Dovecot retries an expired head whose kick still runs this much later. */
#define DIRUSERS_KILL_RETRY_S 60

/* users_max bounds the entries; host ids are < hosts_max; entries live
 * expire_s after their timestamp. Times are >= 0. NULL on ENOMEM. */
struct dirusers *dirusers_create(size_t users_max, size_t hosts_max, int64_t expire_s);
void dirusers_destroy(struct dirusers *dir);

bool dirusers_entry_killing(const struct dirusers_entry *e, int64_t now_s);

/* Frees expired entries from the head, stopping at the first live (or
 * killing) one, then re-arms the timer for the new head. Returns how many
 * were freed. */
size_t dirusers_drop_expired(struct dirusers *dir, int64_t now_s);

/* Runs the expiry timer for every firing due by now_s. The timer fires at
 * the start of its second (measured on the real director), so a caller
 * observing at now_s sees its effect. */
void dirusers_fire_timers(struct dirusers *dir, int64_t now_s);
/* dirusers_host_user_count as it will read once dirusers_fire_timers(dir,
 * now_s) has run, without running it: for observers that must not change
 * the directory. */
uint32_t dirusers_host_user_count_at(const struct dirusers *dir, uint32_t host_id,
                                     int64_t now_s);
/* When the timer fires next; 0 when it is not armed. */
int64_t dirusers_timer_at(const struct dirusers *dir);
/* Restores a saved timer (0 = not armed). */
void dirusers_set_timer(struct dirusers *dir, int64_t timer_at_s);

/* Dovecot's lookup: the head walk, then the user itself is freed if it has
 * expired. True and *out filled when a live entry remains. */
bool dirusers_lookup(struct dirusers *dir, uint32_t hash, int64_t now_s,
                     struct dirusers_entry *out);
/* The entry as stored, with no expiry side effects. */
bool dirusers_peek(const struct dirusers *dir, uint32_t hash, struct dirusers_entry *out);

/* New user at the tail with timestamp now, its kick (if any) running until
 * kill_until_s; arms the timer if it is not armed. ERR_EXISTS, ERR_FULL,
 * ERR_NOMEM, ERR_INVALID (host id). */
enum dirusers_result dirusers_add(struct dirusers *dir, uint32_t hash, uint32_t host_id,
                                  int64_t now_s, int64_t kill_until_s);
/* Appends an entry exactly as given, leaving the timer alone (restoring
 * saved state in list order). */
enum dirusers_result dirusers_append(struct dirusers *dir, const struct dirusers_entry *e);
/* Login or same-host move: timestamp now, moved to the tail. */
void dirusers_refresh(struct dirusers *dir, uint32_t hash, int64_t now_s);
/* Move to another host: host and timestamp change in place, the list
 * position is kept, and the kick runs until kill_until_s. */
void dirusers_move(struct dirusers *dir, uint32_t hash, uint32_t host_id, int64_t now_s,
                   int64_t kill_until_s);
void dirusers_remove(struct dirusers *dir, uint32_t hash);
/* Frees every entry on host_id; returns how many. */
size_t dirusers_remove_host(struct dirusers *dir, uint32_t host_id);

/* Entries on host_id, including expired ones not yet dropped. */
uint32_t dirusers_host_user_count(const struct dirusers *dir, uint32_t host_id);
size_t dirusers_count(const struct dirusers *dir);

/* Walks the list from the head: init, then next until it returns false. */
void dirusers_iter_init(const struct dirusers *dir, struct dirusers_iter *it);
bool dirusers_iter_next(const struct dirusers *dir, struct dirusers_iter *it,
                        struct dirusers_entry *out);

#endif
