/*
 * Dovecot 2.3 director hosts and their vhost rings. Hosts are kept in
 * Dovecot's host order (IPv4 before IPv6, then address bytes); each tag has a
 * ring of MD5("<ip>-<i>") points, rebuilt lazily after any host change, and
 * looked up exactly like Dovecot's bsearch_insert_pos with wrap-around.
 */
#ifndef DIRRING_H
#define DIRRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIRRING_HOSTS_MAX 1024
/* Dovecot refuses vhost counts above 1000 ("vhost count too large"). */
#define DIRRING_VHOST_MAX 1000
#define DIRRING_VHOST_DEFAULT 100
/* Tags are never forgotten (Dovecot keeps the tag object), so they need
 * their own bound. */
#define DIRRING_TAGS_MAX 256
#define DIRRING_TAG_LEN_MAX 63
#define DIRRING_TAG_SIZE (DIRRING_TAG_LEN_MAX + 1)
/* INET6_ADDRSTRLEN: the longest inet_ntop text plus NUL. */
#define DIRRING_IP_TEXT_SIZE 46

enum dirring_result {
    DIRRING_OK = 0,
    /* Lookup: the tag never existed or has no up host with vhosts. */
    DIRRING_NONE,
    DIRRING_ERR_EXISTS,
    DIRRING_ERR_FULL,
    DIRRING_ERR_NOMEM,
    DIRRING_ERR_INVALID,
};

struct dirring_addr {
    bool is_v6;
    uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

struct dirring_host {
    struct dirring_addr addr;
    char ip_text[DIRRING_IP_TEXT_SIZE];
    char tag[DIRRING_TAG_SIZE];
    unsigned vhost_count;
    bool down;
    int64_t last_updown_change_s;
};

struct dirring_point {
    uint32_t hash;
    uint32_t host_id;
};

struct dirring;

/* Parses IPv4 or IPv6 text (inet_pton); false when it is neither. */
bool dirring_addr_parse(const char *text, struct dirring_addr *addr_out);
/* Canonical text (inet_ntop): compressed lower-case IPv6, e.g. "::1". */
void dirring_addr_text(const struct dirring_addr *addr, char out[DIRRING_IP_TEXT_SIZE]);
/* Dovecot's net_ip_cmp order: <0, 0, >0. */
int dirring_addr_cmp(const struct dirring_addr *a, const struct dirring_addr *b);

/* NULL when out of memory. hosts_max <= DIRRING_HOSTS_MAX. */
struct dirring *dirring_create(size_t hosts_max);
void dirring_destroy(struct dirring *ring);

/*
 * Adds a host as Dovecot creates one: DIRRING_VHOST_DEFAULT vhosts, up,
 * last_updown_change 0. Host ids are stable until the host is removed and
 * are < the hosts_max given to dirring_create(). ERR_EXISTS, ERR_FULL
 * (hosts or tags), ERR_INVALID (tag too long).
 */
enum dirring_result dirring_host_add(struct dirring *ring, const struct dirring_addr *addr,
                                     const char *tag, uint32_t *id_out);
bool dirring_host_find(const struct dirring *ring, const struct dirring_addr *addr,
                       uint32_t *id_out);
void dirring_host_remove(struct dirring *ring, uint32_t id);
const struct dirring_host *dirring_host_get(const struct dirring *ring, uint32_t id);
void dirring_host_set_vhost_count(struct dirring *ring, uint32_t id, unsigned vhost_count);
/* Sets the state and the "state changed" time unconditionally. */
void dirring_host_set_down(struct dirring *ring, uint32_t id, bool down, int64_t changed_s);

/* Hosts in Dovecot host order: index 0 .. count-1. */
size_t dirring_host_count(const struct dirring *ring);
uint32_t dirring_host_id_at(const struct dirring *ring, size_t order_index);

/* Tags in creation order; the tag index of a tag never changes. */
size_t dirring_tag_count(const struct dirring *ring);
const char *dirring_tag_name(const struct dirring *ring, size_t tag_index);
bool dirring_tag_find(const struct dirring *ring, const char *tag, size_t *tag_index_out);
/* Creates the tag if absent (hosts do this implicitly); restores order. */
enum dirring_result dirring_tag_add(struct dirring *ring, const char *tag,
                                    size_t *tag_index_out);

/*
 * The host a user hash maps to in tag: the first point with hash >= h,
 * wrapping to the first point; on an exact hit, the probed point (see
 * director.md section 2). DIRRING_NONE when there is no such host.
 * ERR_NOMEM when the ring could not be rebuilt.
 */
enum dirring_result dirring_lookup(struct dirring *ring, const char *tag, uint32_t hash,
                                   uint32_t *host_id_out);

/*
 * The search behind dirring_lookup on a sorted point array: the index of the
 * probed point on an exact hit, else of the first point with a larger hash,
 * wrapping to 0. Returns 0 when count is 0 (callers check count first).
 */
size_t dirring_search(const struct dirring_point *points, size_t count, uint32_t hash);

/* The (rebuilt if needed) ring of tag, sorted; for tests and diagnostics. */
enum dirring_result dirring_points(struct dirring *ring, const char *tag,
                                   const struct dirring_point **points_out, size_t *count_out);

/*
 * dirring_points for a read-only pass over a const ring: the cached points
 * when they are current, else the same points built afresh into *scratch
 * (the caller frees it; NULL when the cache served). The ring is not
 * touched. DIRRING_NONE for an unknown tag, ERR_NOMEM.
 */
enum dirring_result dirring_points_peek(const struct dirring *ring, const char *tag,
                                        const struct dirring_point **points_out,
                                        size_t *count_out, struct dirring_point **scratch);

/* MD5("<ip_text>-<index>") big-endian first 4 bytes: one ring point. */
uint32_t dirring_point_hash(const char *ip_text, unsigned index);

#endif
