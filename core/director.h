/*
 * A single Dovecot 2.3 director as a pure state machine: hosts, the frozen
 * initial-config hosts, one user directory per tag, and the settings. Every
 * operation takes the time as an argument and returns a result that maps to
 * the director's reply (director.md sections 4-6), so the simulator and the
 * doveadm emulation can drive it deterministically and persist it exactly.
 */
#ifndef DIRECTOR_H
#define DIRECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dirring.h"
#include "dirusers.h"
#include "userhash.h"

#define DIRECTOR_HOSTS_MAX DIRRING_HOSTS_MAX
#define DIRECTOR_VHOST_MAX DIRRING_VHOST_MAX
#define DIRECTOR_USER_EXPIRE_DEFAULT_S 900
#define DIRECTOR_USER_EXPIRE_MIN_S 10
#define DIRECTOR_USERNAME_HASH_DEFAULT USERHASH_DEFAULT_FORMAT
/* director_user_kick_delay: a moved user's logins are held this long. */
#define DIRECTOR_KICK_DELAY_S 2
#define DIRECTOR_HASH_FORMAT_MAX 127
/* vhost_count argument meaning "not given" (add that only re-announces). */
#define DIRECTOR_VHOST_KEEP (-1)

enum director_result {
    DIRECTOR_OK = 0,
    /* "NOTFOUND": the host does not exist. */
    DIRECTOR_NOTFOUND,
    /* "TRYAGAIN": move of a user whose kick is running, or a lookup whose
     * username could not be hashed. */
    DIRECTOR_TRYAGAIN,
    /* Login of a user being kicked: Dovecot holds the request until the
     * kick ends; call again at ready_at_s. Nothing was changed. */
    DIRECTOR_WAIT,
    /* Login with no usable host in the tag: Dovecot queues the request and
     * fails it with temp_fail after 30 s unless a host appears. */
    DIRECTOR_NOHOST,
    /* The host is not an IPv4/IPv6 address. */
    DIRECTOR_ERR_HOST_INVALID,
    /* "vhost count too large" (> DIRECTOR_VHOST_MAX). */
    DIRECTOR_ERR_VHOST_TOO_LARGE,
    /* "host tag can't be changed". */
    DIRECTOR_ERR_TAG_CHANGE,
    /* "Failed to expand director_username_hash". */
    DIRECTOR_ERR_HASH_FORMAT,
    /* Invalid settings or director_mail_servers. */
    DIRECTOR_ERR_CONFIG,
    /* A bound was reached: hosts, tags or users. */
    DIRECTOR_ERR_FULL,
    /* Malformed argument, e.g. a tag longer than DIRRING_TAG_LEN_MAX, or
     * restored state that is inconsistent. */
    DIRECTOR_ERR_INVALID,
    DIRECTOR_ERR_NOMEM,
};

struct director_settings {
    /* director_username_hash; NULL means DIRECTOR_USERNAME_HASH_DEFAULT. */
    const char *username_hash;
    /* director_user_expire; 0 means 900; below 10 is a config error. */
    int64_t user_expire_s;
    /* director_mail_servers: "IP", "IP@tag", "IP1-IP2[@tag]" separated by
     * spaces. Host names are refused: the core does no DNS. */
    const char *mail_servers;
    /* Most user entries held at once, over all tags. */
    size_t users_max;
    /* 0 means DIRECTOR_HOSTS_MAX. */
    size_t hosts_max;
};

struct director_login {
    char ip[DIRRING_IP_TEXT_SIZE];
    uint32_t hash;
    /* The user had no live entry and was placed by the ring. */
    bool new_assignment;
    /* DIRECTOR_WAIT: when the kick ends. */
    int64_t ready_at_s;
    /* The proxy_refresh= value Dovecot adds to the reply: expire / 2. */
    int64_t proxy_refresh_s;
};

struct director_host_row {
    char ip[DIRRING_IP_TEXT_SIZE];
    char tag[DIRRING_TAG_SIZE];
    unsigned vhost_count;
    bool down;
    int64_t last_updown_change_s;
    /* Entries on the host, including expired ones not yet dropped. */
    uint32_t user_count;
};

struct director_user_status {
    uint32_t hash;
    /* Live entry: current_ip and expire_s (timestamp + expire); else "" and 0. */
    char current_ip[DIRRING_IP_TEXT_SIZE];
    int64_t expire_s;
    /* The current ring's and the initial config ring's choice; "" if none. */
    char hashed_ip[DIRRING_IP_TEXT_SIZE];
    char initial_ip[DIRRING_IP_TEXT_SIZE];
};

struct director_user_row {
    const char *tag; /* valid while the director lives */
    uint32_t hash;
    char ip[DIRRING_IP_TEXT_SIZE];
    int64_t timestamp_s;
    int64_t expire_s; /* timestamp + director_user_expire, as USER-LIST prints */
    int64_t kill_until_s;
};

struct director_user_iter {
    size_t tag_index;
    bool in_tag;
    struct dirusers_iter it;
};

struct director;

void director_settings_init(struct director_settings *set);
/* Validates set and builds the director with the config hosts (100 vhosts,
 * up), also frozen as the initial config. */
enum director_result director_create(const struct director_settings *set,
                                     struct director **out);
void director_destroy(struct director *d);
/* The settings the director was created with (director_mail_servers as
 * given); the strings are valid while d lives. Saving the state needs them. */
void director_settings_get(const struct director *d, struct director_settings *out);
int64_t director_user_expire_s(const struct director *d);
const char *director_username_hash_format(const struct director *d);

/* The wire reply for a result ("OK", "NOTFOUND", "vhost count too large"...). */
const char *director_result_text(enum director_result r);

/* The user hash doveadm computes locally (map -u, move). */
enum director_result director_hash(const struct director *d, const char *username,
                                   uint32_t *hash_out);
/* Where the current ring sends username in tag (NULL = ""), no state change.
 * ip_out is "" with DIRECTOR_NOHOST. */
enum director_result director_hashed_ip(struct director *d, const char *username,
                                        const char *tag, char ip_out[DIRRING_IP_TEXT_SIZE]);

/* The same for a hash computed elsewhere (another username format). */
enum director_result director_hashed_ip_hash(struct director *d, uint32_t hash,
                                             const char *tag,
                                             char ip_out[DIRRING_IP_TEXT_SIZE]);

/* A login (auth reply rewrite), director.md section 4. */
enum director_result director_login(struct director *d, const char *username, const char *tag,
                                    int64_t now_s, struct director_login *out);

/* The same for a hash computed once by the caller (a simulator logging the
 * same users in again and again). */
enum director_result director_login_hash(struct director *d, uint32_t hash, const char *tag,
                                         int64_t now_s, struct director_login *out);
/* A write to login/proxy-notify: refreshes the user's live entries in every
 * tag (a connection still open), creates nothing. Returns whether one was. */
bool director_notify_hash(struct director *d, uint32_t hash, int64_t now_s);

/* HOST-SET: add, or re-announce / set vhosts. tag NULL or "" = none given. */
enum director_result director_host_add(struct director *d, const char *ip, const char *tag,
                                       int64_t vhost_count, int64_t now_s);
/* HOST-UPDATE: like add with a mandatory count; unknown host -> NOTFOUND. */
enum director_result director_host_update(struct director *d, const char *ip,
                                          int64_t vhost_count, int64_t now_s);
enum director_result director_host_up(struct director *d, const char *ip, int64_t now_s);
enum director_result director_host_down(struct director *d, const char *ip, int64_t now_s);
/* HOST-REMOVE: frees the host's user entries (no kick) and the host. */
enum director_result director_host_remove(struct director *d, const char *ip, int64_t now_s);
/* flush -F: frees the entries on ip, or on every host when ip is NULL.
 * No head walk: expired entries behind a freed head stay counted. */
enum director_result director_flush(struct director *d, const char *ip, int64_t now_s);
/* flush without -F (HOST-RESET-USERS): after a head walk of every tag,
 * users whose hash now points to another host are moved there (in place,
 * kicked); ip NULL = every host in host order. */
enum director_result director_reset(struct director *d, const char *ip, int64_t now_s);
/* USER-MOVE, hashing username first as doveadm does. Every move kicks the
 * user, a new entry included; a move to its current host only refreshes. */
enum director_result director_move(struct director *d, const char *username, const char *ip,
                                   int64_t now_s);
/* USER-KICK: connections are kicked by the proxies; assignments stay. */
enum director_result director_kick(struct director *d, const char *username);

/* Moves the clock to now_s: fires the expiry timers due by then. Every
 * operation taking now_s does this first; call it before reading host rows
 * (status) at now_s. Times are >= 0 and must not go backwards. */
void director_advance(struct director *d, int64_t now_s);

/* User entries over all tags, expired-but-not-dropped ones included. */
size_t director_user_total(const struct director *d);

/* Hosts in host order (status, dump). */
size_t director_host_count(const struct director *d);
void director_host_row(const struct director *d, size_t index, struct director_host_row *out);

/* director_host_row as it will read after director_advance(d, now_s),
 * without advancing: the user count leaves out the entries that the expiry
 * timers due by now_s will drop. For observers (reports, checks). */
void director_host_row_at(const struct director *d, size_t index, int64_t now_s,
                          struct director_host_row *out);
/* Live entries (timestamp + expire > now_s) that are not on the host the
 * ring gives their hash now; an entry of a tag whose ring cannot be built
 * (out of memory) counts as not on it. Read-only. */
uint32_t director_misplaced(const struct director *d, int64_t now_s);

/* USER-LOOKUP: a decimal uint32 "username" is the hash itself. tag NULL = "". */
enum director_result director_user_status(struct director *d, const char *username,
                                          const char *tag, int64_t now_s,
                                          struct director_user_status *out);

/* USER-LIST: expiry walk, then every remaining entry per tag (tags in
 * creation order) in list order, expired-but-not-dropped ones included. */
void director_map_begin(struct director *d, int64_t now_s, struct director_user_iter *it);
/* Walks all entries without expiring anything (for saving state). */
void director_user_iter_init(const struct director *d, struct director_user_iter *it);
bool director_user_iter_next(const struct director *d, struct director_user_iter *it,
                             struct director_user_row *out);

/* `doveadm director dump` lines: "doveadm director add IP[@tag] N" per host,
 * then "doveadm director remove IP " (sic, trailing space) per initial-config
 * host no longer present. False past the last line or if buf is too small. */
bool director_dump_line(const struct director *d, size_t index, char *buf, size_t size);

/* Tags in creation order (Dovecot never forgets a tag), each with the time
 * its expiry timer fires next (0 = not armed), which is state to save. */
size_t director_tag_count(const struct director *d);
const char *director_tag_name(const struct director *d, size_t index);
int64_t director_tag_timer_at(const struct director *d, size_t index);

/*
 * Restoring saved state into a director created with the same settings:
 * begin drops all hosts, tags and users (the initial config stays), then
 * tags in order, hosts, and users in list order per tag.
 */
enum director_result director_restore_begin(struct director *d);
enum director_result director_restore_tag(struct director *d, const char *tag,
                                          int64_t timer_at_s);
/* user_count is ignored; it follows from the users restored. */
enum director_result director_restore_host(struct director *d,
                                           const struct director_host_row *row);
/* expire_s is ignored; the host must exist and carry row->tag. */
enum director_result director_restore_user(struct director *d,
                                           const struct director_user_row *row);

#endif
