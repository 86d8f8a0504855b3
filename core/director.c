/*
 * The single-director state machine over dirring (hosts, rings) and dirusers
 * (one directory per tag). It has no clock and no I/O: callers pass the time
 * and format the replies, which keeps simulation runs reproducible and lets
 * the whole state be saved and restored exactly.
 */
#include "director.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "userhash.h"

#define TOKEN_MAX 127

struct director {
    struct dirring *ring;
    struct dirring *initial; /* orig_config_hosts: frozen after create */
    struct dirusers *dirs[DIRRING_TAGS_MAX]; /* by tag index, created lazily */
    char hash_format[DIRECTOR_HASH_FORMAT_MAX + 1];
    char *mail_servers; /* as configured, for saving the state */
    int64_t expire_s;
    size_t users_max;
    size_t hosts_max;
};

void director_settings_init(struct director_settings *set)
{
    assert(set != NULL);
    memset(set, 0, sizeof(*set));
    set->username_hash = DIRECTOR_USERNAME_HASH_DEFAULT;
    set->user_expire_s = DIRECTOR_USER_EXPIRE_DEFAULT_S;
    set->mail_servers = "";
    set->users_max = 100000;
    set->hosts_max = DIRECTOR_HOSTS_MAX;
}

static enum director_result from_ring(enum dirring_result r)
{
    switch (r) {
    case DIRRING_OK: return DIRECTOR_OK;
    case DIRRING_NONE: return DIRECTOR_NOHOST;
    case DIRRING_ERR_EXISTS: return DIRECTOR_ERR_CONFIG;
    case DIRRING_ERR_FULL: return DIRECTOR_ERR_FULL;
    case DIRRING_ERR_NOMEM: return DIRECTOR_ERR_NOMEM;
    case DIRRING_ERR_INVALID: return DIRECTOR_ERR_INVALID;
    }
    return DIRECTOR_ERR_INVALID;
}

static enum director_result from_users(enum dirusers_result r)
{
    switch (r) {
    case DIRUSERS_OK: return DIRECTOR_OK;
    case DIRUSERS_ERR_FULL: return DIRECTOR_ERR_FULL;
    case DIRUSERS_ERR_NOMEM: return DIRECTOR_ERR_NOMEM;
    case DIRUSERS_ERR_EXISTS: return DIRECTOR_ERR_INVALID;
    case DIRUSERS_ERR_INVALID: return DIRECTOR_ERR_INVALID;
    }
    return DIRECTOR_ERR_INVALID;
}

/* Adds one configured host to both the live and the frozen host sets. */
static enum director_result config_add(struct director *d, const struct dirring_addr *a,
                                       const char *tag)
{
    enum dirring_result r = dirring_host_add(d->ring, a, tag, NULL);
    if (r == DIRRING_OK)
        r = dirring_host_add(d->initial, a, tag, NULL);
    return from_ring(r);
}

/* IP1-IP2: same family, only the last 8 (IPv4) or 16 (IPv6) bits differ. */
static enum director_result config_add_range(struct director *d, const char *text,
                                             const char *tag)
{
    char buf[TOKEN_MAX + 1];
    memcpy(buf, text, strlen(text) + 1);
    char *dash = strchr(buf, '-');
    *dash = '\0';
    struct dirring_addr lo, hi;
    if (!dirring_addr_parse(buf, &lo) || !dirring_addr_parse(dash + 1, &hi) ||
        lo.is_v6 != hi.is_v6)
        return DIRECTOR_ERR_CONFIG;
    size_t fixed = lo.is_v6 ? 14 : 3;
    if (memcmp(lo.bytes, hi.bytes, fixed) != 0 || dirring_addr_cmp(&lo, &hi) > 0)
        return DIRECTOR_ERR_CONFIG;
    unsigned first = lo.is_v6 ? (unsigned)lo.bytes[14] << 8 | lo.bytes[15] : lo.bytes[3];
    unsigned last = lo.is_v6 ? (unsigned)hi.bytes[14] << 8 | hi.bytes[15] : hi.bytes[3];
    for (unsigned v = first; v <= last; v++) {
        struct dirring_addr a = lo;
        if (lo.is_v6) {
            a.bytes[14] = (uint8_t)(v >> 8);
            a.bytes[15] = (uint8_t)v;
        } else {
            a.bytes[3] = (uint8_t)v;
        }
        enum director_result r = config_add(d, &a, tag);
        if (r != DIRECTOR_OK)
            return r;
    }
    return DIRECTOR_OK;
}

/* One director_mail_servers token: IP[@tag] or IP1-IP2[@tag]. */
static enum director_result config_token(struct director *d, const char *token, size_t len)
{
    char buf[TOKEN_MAX + 1];
    if (len > TOKEN_MAX)
        return DIRECTOR_ERR_CONFIG;
    memcpy(buf, token, len);
    buf[len] = '\0';
    const char *tag = "";
    char *at = strchr(buf, '@');
    if (at != NULL) {
        *at = '\0';
        tag = at + 1;
    }
    if (strchr(buf, '-') != NULL)
        return config_add_range(d, buf, tag);
    struct dirring_addr a;
    if (!dirring_addr_parse(buf, &a))
        return DIRECTOR_ERR_CONFIG; /* host names would need DNS */
    return config_add(d, &a, tag);
}

static enum director_result config_parse(struct director *d, const char *servers)
{
    size_t tokens = 0;
    const char *p = servers;
    while (*p != '\0') {
        size_t skip = strspn(p, " \t");
        p += skip;
        size_t len = strcspn(p, " \t");
        if (len == 0)
            break;
        enum director_result r = config_token(d, p, len);
        if (r != DIRECTOR_OK)
            return r == DIRECTOR_ERR_NOMEM ? r : DIRECTOR_ERR_CONFIG;
        tokens++;
        p += len;
    }
    /* An empty list is fatal in Dovecot. */
    return tokens == 0 ? DIRECTOR_ERR_CONFIG : DIRECTOR_OK;
}

static enum director_result check_settings(const struct director_settings *set)
{
    const char *fmt = set->username_hash != NULL ? set->username_hash : DIRECTOR_USERNAME_HASH_DEFAULT;
    if (strlen(fmt) > DIRECTOR_HASH_FORMAT_MAX)
        return DIRECTOR_ERR_CONFIG;
    if (set->user_expire_s != 0 && set->user_expire_s < DIRECTOR_USER_EXPIRE_MIN_S)
        return DIRECTOR_ERR_CONFIG;
    if (set->users_max == 0 || set->users_max > UINT32_MAX / 4)
        return DIRECTOR_ERR_CONFIG;
    if (set->hosts_max > DIRECTOR_HOSTS_MAX)
        return DIRECTOR_ERR_CONFIG;
    if (set->mail_servers == NULL)
        return DIRECTOR_ERR_CONFIG;
    return DIRECTOR_OK;
}

enum director_result director_create(const struct director_settings *set,
                                     struct director **out)
{
    assert(set != NULL && out != NULL);
    *out = NULL;
    enum director_result r = check_settings(set);
    if (r != DIRECTOR_OK)
        return r;
    struct director *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return DIRECTOR_ERR_NOMEM;
    const char *fmt = set->username_hash != NULL ? set->username_hash : DIRECTOR_USERNAME_HASH_DEFAULT;
    memcpy(d->hash_format, fmt, strlen(fmt) + 1);
    d->expire_s = set->user_expire_s != 0 ? set->user_expire_s : DIRECTOR_USER_EXPIRE_DEFAULT_S;
    d->users_max = set->users_max;
    d->hosts_max = set->hosts_max != 0 ? set->hosts_max : DIRECTOR_HOSTS_MAX;
    d->mail_servers = strdup(set->mail_servers);
    d->ring = dirring_create(d->hosts_max);
    d->initial = dirring_create(d->hosts_max);
    if (d->mail_servers == NULL || d->ring == NULL || d->initial == NULL) {
        director_destroy(d);
        return DIRECTOR_ERR_NOMEM;
    }
    r = config_parse(d, set->mail_servers);
    if (r != DIRECTOR_OK) {
        director_destroy(d);
        return r;
    }
    *out = d;
    return DIRECTOR_OK;
}

void director_destroy(struct director *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < DIRRING_TAGS_MAX; i++)
        dirusers_destroy(d->dirs[i]);
    dirring_destroy(d->ring);
    dirring_destroy(d->initial);
    free(d->mail_servers);
    free(d);
}

void director_settings_get(const struct director *d, struct director_settings *out)
{
    assert(d != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->username_hash = d->hash_format;
    out->user_expire_s = d->expire_s;
    out->mail_servers = d->mail_servers;
    out->users_max = d->users_max;
    out->hosts_max = d->hosts_max;
}

int64_t director_user_expire_s(const struct director *d)
{
    assert(d != NULL);
    return d->expire_s;
}

const char *director_username_hash_format(const struct director *d)
{
    assert(d != NULL);
    return d->hash_format;
}

const char *director_result_text(enum director_result r)
{
    switch (r) {
    case DIRECTOR_OK: return "OK";
    case DIRECTOR_NOTFOUND: return "NOTFOUND";
    case DIRECTOR_TRYAGAIN: return "TRYAGAIN";
    case DIRECTOR_WAIT: return "user is being kicked, wait";
    case DIRECTOR_NOHOST: return "no usable host";
    case DIRECTOR_ERR_HOST_INVALID: return "Invalid host";
    case DIRECTOR_ERR_VHOST_TOO_LARGE: return "vhost count too large";
    case DIRECTOR_ERR_TAG_CHANGE: return "host tag can't be changed";
    case DIRECTOR_ERR_HASH_FORMAT: return "Failed to expand director_username_hash";
    case DIRECTOR_ERR_CONFIG: return "invalid director configuration";
    case DIRECTOR_ERR_FULL: return "limit reached";
    case DIRECTOR_ERR_INVALID: return "invalid argument";
    case DIRECTOR_ERR_NOMEM: return "out of memory";
    }
    return "unknown result";
}

/* Parses ip and finds the host: ERR_HOST_INVALID, NOTFOUND or OK. */
static enum director_result find_host(const struct director *d, const char *ip, uint32_t *id)
{
    assert(ip != NULL);
    struct dirring_addr a;
    if (!dirring_addr_parse(ip, &a))
        return DIRECTOR_ERR_HOST_INVALID;
    return dirring_host_find(d->ring, &a, id) ? DIRECTOR_OK : DIRECTOR_NOTFOUND;
}

/* The directory of a tag, or NULL when the tag or its directory is absent. */
static struct dirusers *dir_find(const struct director *d, const char *tag)
{
    size_t idx;
    if (!dirring_tag_find(d->ring, tag, &idx))
        return NULL;
    return d->dirs[idx];
}

/* The directory of an existing tag, created on first use. */
static struct dirusers *dir_get(struct director *d, const char *tag)
{
    size_t idx;
    bool found = dirring_tag_find(d->ring, tag, &idx);
    assert(found);
    (void)found;
    if (d->dirs[idx] == NULL)
        d->dirs[idx] = dirusers_create(d->users_max, d->hosts_max, d->expire_s);
    return d->dirs[idx];
}

size_t director_user_total(const struct director *d)
{
    assert(d != NULL);
    size_t n = 0;
    for (size_t i = 0; i < dirring_tag_count(d->ring); i++) {
        if (d->dirs[i] != NULL)
            n += dirusers_count(d->dirs[i]);
    }
    return n;
}

static size_t total_users(const struct director *d)
{
    return director_user_total(d);
}

/* A new entry at the tail, within the director-wide users bound. */
static enum director_result user_add(struct director *d, struct dirusers *dir, uint32_t hash,
                                     uint32_t host_id, int64_t now_s, int64_t kill_until_s)
{
    if (total_users(d) >= d->users_max)
        return DIRECTOR_ERR_FULL;
    return from_users(dirusers_add(dir, hash, host_id, now_s, kill_until_s));
}

/* The expiry timers of every tag fire at the start of their second, before
 * anything else happens in it; every operation first catches them up. */
static void advance(struct director *d, int64_t now_s)
{
    assert(now_s >= 0);
    for (size_t i = 0; i < dirring_tag_count(d->ring); i++) {
        if (d->dirs[i] != NULL)
            dirusers_fire_timers(d->dirs[i], now_s);
    }
}

/* A user iteration (USER-LIST, HOST-RESET-USERS) walks every tag's head. */
static void walk_all(struct director *d, int64_t now_s)
{
    for (size_t i = 0; i < dirring_tag_count(d->ring); i++) {
        if (d->dirs[i] != NULL)
            dirusers_drop_expired(d->dirs[i], now_s);
    }
}

static void copy_ip(char out[DIRRING_IP_TEXT_SIZE], const struct dirring *ring, uint32_t id)
{
    memcpy(out, dirring_host_get(ring, id)->ip_text, DIRRING_IP_TEXT_SIZE);
}

enum director_result director_hash(const struct director *d, const char *username,
                                   uint32_t *hash_out)
{
    assert(d != NULL && username != NULL);
    enum userhash_result r = userhash_compute(d->hash_format, username, hash_out);
    return r == USERHASH_OK ? DIRECTOR_OK : DIRECTOR_ERR_HASH_FORMAT;
}

enum director_result director_hashed_ip_hash(struct director *d, uint32_t hash,
                                             const char *tag,
                                             char ip_out[DIRRING_IP_TEXT_SIZE])
{
    assert(d != NULL && ip_out != NULL);
    ip_out[0] = '\0';
    uint32_t id;
    enum director_result r = from_ring(dirring_lookup(d->ring, tag != NULL ? tag : "", hash, &id));
    if (r == DIRECTOR_OK)
        copy_ip(ip_out, d->ring, id);
    return r;
}

enum director_result director_hashed_ip(struct director *d, const char *username,
                                        const char *tag, char ip_out[DIRRING_IP_TEXT_SIZE])
{
    assert(ip_out != NULL);
    ip_out[0] = '\0';
    uint32_t hash;
    enum director_result r = director_hash(d, username, &hash);
    if (r != DIRECTOR_OK)
        return r;
    return director_hashed_ip_hash(d, hash, tag, ip_out);
}

enum director_result director_login(struct director *d, const char *username, const char *tag,
                                    int64_t now_s, struct director_login *out)
{
    assert(d != NULL && out != NULL);
    uint32_t hash;
    enum director_result r = director_hash(d, username, &hash);
    if (r != DIRECTOR_OK) {
        memset(out, 0, sizeof(*out));
        out->proxy_refresh_s = d->expire_s / 2;
        return r;
    }
    return director_login_hash(d, hash, tag, now_s, out);
}

enum director_result director_login_hash(struct director *d, uint32_t hash, const char *tag,
                                         int64_t now_s, struct director_login *out)
{
    assert(d != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    tag = tag != NULL ? tag : "";
    out->proxy_refresh_s = d->expire_s / 2;
    out->hash = hash;
    advance(d, now_s);
    struct dirusers *dir = dir_find(d, tag);
    struct dirusers_entry e;
    if (dir != NULL && dirusers_lookup(dir, out->hash, now_s, &e)) {
        if (dirusers_entry_killing(&e, now_s)) {
            out->ready_at_s = e.kill_until_s;
            return DIRECTOR_WAIT;
        }
        /* Even a down or vhost-0 host keeps its live users. */
        dirusers_refresh(dir, out->hash, now_s);
        copy_ip(out->ip, d->ring, e.host_id);
        return DIRECTOR_OK;
    }
    uint32_t id;
    enum director_result r = from_ring(dirring_lookup(d->ring, tag, out->hash, &id));
    if (r != DIRECTOR_OK)
        return r;
    dir = dir_get(d, tag);
    if (dir == NULL)
        return DIRECTOR_ERR_NOMEM;
    r = user_add(d, dir, out->hash, id, now_s, 0);
    if (r != DIRECTOR_OK)
        return r;
    out->new_assignment = true;
    copy_ip(out->ip, d->ring, id);
    return DIRECTOR_OK;
}

bool director_notify_hash(struct director *d, uint32_t hash, int64_t now_s)
{
    assert(d != NULL);
    advance(d, now_s);
    bool any = false;
    for (size_t i = 0; i < director_tag_count(d); i++) {
        struct dirusers *dir = dir_find(d, director_tag_name(d, i));
        struct dirusers_entry e;
        if (dir != NULL && dirusers_lookup(dir, hash, now_s, &e) &&
            !dirusers_entry_killing(&e, now_s)) {
            dirusers_refresh(dir, hash, now_s);
            any = true;
        }
    }
    return any;
}

/* HOST-SET and HOST-UPDATE share these steps (director.md section 5). */
static enum director_result host_set(struct director *d, const char *ip, const char *tag,
                                     int64_t vhost_count, bool create, int64_t now_s)
{
    assert(d != NULL && ip != NULL);
    tag = tag != NULL ? tag : "";
    advance(d, now_s);
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r == DIRECTOR_ERR_HOST_INVALID)
        return r;
    if (vhost_count > DIRECTOR_VHOST_MAX)
        return DIRECTOR_ERR_VHOST_TOO_LARGE;
    if (r == DIRECTOR_NOTFOUND) {
        if (!create)
            return DIRECTOR_NOTFOUND;
        struct dirring_addr a;
        bool ok = dirring_addr_parse(ip, &a);
        assert(ok);
        (void)ok;
        r = from_ring(dirring_host_add(d->ring, &a, tag, &id));
        if (r != DIRECTOR_OK)
            return r;
    } else if (tag[0] != '\0' && strcmp(dirring_host_get(d->ring, id)->tag, tag) != 0) {
        return DIRECTOR_ERR_TAG_CHANGE;
    }
    if (vhost_count >= 0)
        dirring_host_set_vhost_count(d->ring, id, (unsigned)vhost_count);
    return DIRECTOR_OK;
}

enum director_result director_host_add(struct director *d, const char *ip, const char *tag,
                                       int64_t vhost_count, int64_t now_s)
{
    assert(vhost_count >= 0 || vhost_count == DIRECTOR_VHOST_KEEP);
    return host_set(d, ip, tag, vhost_count, true, now_s);
}

enum director_result director_host_update(struct director *d, const char *ip,
                                          int64_t vhost_count, int64_t now_s)
{
    assert(vhost_count >= 0);
    return host_set(d, ip, NULL, vhost_count, false, now_s);
}

static enum director_result host_set_down(struct director *d, const char *ip, bool down,
                                          int64_t now_s)
{
    advance(d, now_s);
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r != DIRECTOR_OK)
        return r;
    /* Already in that state: OK, and the "state changed" time stays. */
    if (dirring_host_get(d->ring, id)->down != down)
        dirring_host_set_down(d->ring, id, down, now_s);
    return DIRECTOR_OK;
}

enum director_result director_host_up(struct director *d, const char *ip, int64_t now_s)
{
    return host_set_down(d, ip, false, now_s);
}

enum director_result director_host_down(struct director *d, const char *ip, int64_t now_s)
{
    return host_set_down(d, ip, true, now_s);
}

enum director_result director_host_remove(struct director *d, const char *ip, int64_t now_s)
{
    advance(d, now_s);
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r != DIRECTOR_OK)
        return r;
    struct dirusers *dir = dir_find(d, dirring_host_get(d->ring, id)->tag);
    if (dir != NULL)
        dirusers_remove_host(dir, id);
    dirring_host_remove(d->ring, id);
    return DIRECTOR_OK;
}

/* HOST-FLUSH frees the entries without a user iteration, so no head walk
 * (observed: expired entries behind a freed head stay counted). */
static void flush_host(struct director *d, uint32_t id)
{
    struct dirusers *dir = dir_find(d, dirring_host_get(d->ring, id)->tag);
    if (dir != NULL)
        dirusers_remove_host(dir, id);
}

enum director_result director_flush(struct director *d, const char *ip, int64_t now_s)
{
    assert(d != NULL);
    advance(d, now_s);
    if (ip == NULL) {
        for (size_t i = 0; i < dirring_host_count(d->ring); i++)
            flush_host(d, dirring_host_id_at(d->ring, i));
        return DIRECTOR_OK;
    }
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r == DIRECTOR_OK)
        flush_host(d, id);
    return r;
}

/*
 * Reset of one host: users whose hash now maps elsewhere are moved there in
 * place (timestamp now, kick), correctly hashed ones stay. Entries that
 * expired but were not dropped are moved too, as Dovecot does. With no
 * usable host left in the tag every user of the host is kicked and freed.
 */
static enum director_result reset_host(struct director *d, uint32_t id, int64_t now_s)
{
    const char *tag = dirring_host_get(d->ring, id)->tag;
    /* The user iteration walks every tag (observed), not only this one. */
    walk_all(d, now_s);
    struct dirusers *dir = dir_find(d, tag);
    if (dir == NULL)
        return DIRECTOR_OK;
    struct dirusers_iter it;
    struct dirusers_entry e;
    dirusers_iter_init(dir, &it);
    while (dirusers_iter_next(dir, &it, &e)) {
        if (e.host_id != id)
            continue;
        uint32_t new_id;
        enum dirring_result r = dirring_lookup(d->ring, tag, e.hash, &new_id);
        if (r == DIRRING_NONE) {
            dirusers_remove_host(dir, id);
            return DIRECTOR_OK;
        }
        if (r != DIRRING_OK)
            return from_ring(r);
        if (new_id != id)
            dirusers_move(dir, e.hash, new_id, now_s, now_s + DIRECTOR_KICK_DELAY_S);
    }
    return DIRECTOR_OK;
}

enum director_result director_reset(struct director *d, const char *ip, int64_t now_s)
{
    assert(d != NULL);
    advance(d, now_s);
    if (ip == NULL) {
        for (size_t i = 0; i < dirring_host_count(d->ring); i++) {
            enum director_result r = reset_host(d, dirring_host_id_at(d->ring, i), now_s);
            if (r != DIRECTOR_OK)
                return r;
        }
        return DIRECTOR_OK;
    }
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r != DIRECTOR_OK)
        return r;
    return reset_host(d, id, now_s);
}

static enum director_result move_hash(struct director *d, uint32_t hash, const char *ip,
                                      int64_t now_s)
{
    advance(d, now_s);
    uint32_t id;
    enum director_result r = find_host(d, ip, &id);
    if (r != DIRECTOR_OK)
        return r;
    struct dirusers *dir = dir_get(d, dirring_host_get(d->ring, id)->tag);
    if (dir == NULL)
        return DIRECTOR_ERR_NOMEM;
    /* A moved user may have connections anywhere, so even a new entry
     * kicks (observed: a second move right after answers TRYAGAIN). */
    int64_t kick_end_s = now_s + DIRECTOR_KICK_DELAY_S;
    struct dirusers_entry e;
    if (!dirusers_lookup(dir, hash, now_s, &e))
        return user_add(d, dir, hash, id, now_s, kick_end_s);
    /* "User is already being moved, wait a while". */
    if (dirusers_entry_killing(&e, now_s))
        return DIRECTOR_TRYAGAIN;
    if (e.host_id == id)
        dirusers_refresh(dir, hash, now_s);
    else
        dirusers_move(dir, hash, id, now_s, kick_end_s);
    return DIRECTOR_OK;
}

enum director_result director_move(struct director *d, const char *username, const char *ip,
                                   int64_t now_s)
{
    uint32_t hash;
    enum director_result r = director_hash(d, username, &hash);
    if (r != DIRECTOR_OK)
        return r;
    return move_hash(d, hash, ip, now_s);
}

enum director_result director_kick(struct director *d, const char *username)
{
    /* The proxies drop the connections; the directory is not touched. */
    (void)d;
    (void)username;
    return DIRECTOR_OK;
}

void director_advance(struct director *d, int64_t now_s)
{
    assert(d != NULL);
    advance(d, now_s);
}

size_t director_host_count(const struct director *d)
{
    assert(d != NULL);
    return dirring_host_count(d->ring);
}

void director_host_row(const struct director *d, size_t index, struct director_host_row *out)
{
    assert(d != NULL && out != NULL);
    uint32_t id = dirring_host_id_at(d->ring, index);
    const struct dirring_host *h = dirring_host_get(d->ring, id);
    memset(out, 0, sizeof(*out));
    memcpy(out->ip, h->ip_text, sizeof(out->ip));
    memcpy(out->tag, h->tag, sizeof(out->tag));
    out->vhost_count = h->vhost_count;
    out->down = h->down;
    out->last_updown_change_s = h->last_updown_change_s;
    const struct dirusers *dir = dir_find(d, h->tag);
    out->user_count = dir != NULL ? dirusers_host_user_count(dir, id) : 0;
}

void director_host_row_at(const struct director *d, size_t index, int64_t now_s,
                          struct director_host_row *out)
{
    director_host_row(d, index, out);
    const struct dirusers *dir = dir_find(d, out->tag);
    if (dir != NULL)
        out->user_count =
            dirusers_host_user_count_at(dir, dirring_host_id_at(d->ring, index), now_s);
}

/* director_misplaced for one tag's directory. */
static uint32_t misplaced_in_tag(const struct director *d, size_t tag_index, int64_t now_s)
{
    const struct dirusers *dir = d->dirs[tag_index];
    const struct dirring_point *pts = NULL;
    size_t n = 0;
    struct dirring_point *scratch = NULL;
    enum dirring_result r =
        dirring_points_peek(d->ring, dirring_tag_name(d->ring, tag_index), &pts, &n, &scratch);
    uint32_t misplaced = 0;
    struct dirusers_iter it;
    struct dirusers_entry e;
    dirusers_iter_init(dir, &it);
    while (dirusers_iter_next(dir, &it, &e)) {
        if (e.timestamp_s + d->expire_s <= now_s)
            continue; /* expired, not yet dropped: no assignment */
        misplaced += r != DIRRING_OK || n == 0 ||
                     pts[dirring_search(pts, n, e.hash)].host_id != e.host_id;
    }
    free(scratch);
    return misplaced;
}

uint32_t director_misplaced(const struct director *d, int64_t now_s)
{
    assert(d != NULL);
    uint32_t misplaced = 0;
    for (size_t i = 0; i < dirring_tag_count(d->ring); i++) {
        if (d->dirs[i] != NULL)
            misplaced += misplaced_in_tag(d, i, now_s);
    }
    return misplaced;
}

static void ring_ip(struct dirring *ring, const char *tag, uint32_t hash,
                    char out[DIRRING_IP_TEXT_SIZE])
{
    uint32_t id;
    if (dirring_lookup(ring, tag, hash, &id) == DIRRING_OK)
        copy_ip(out, ring, id);
    else
        out[0] = '\0';
}

enum director_result director_user_status(struct director *d, const char *username,
                                          const char *tag, int64_t now_s,
                                          struct director_user_status *out)
{
    assert(d != NULL && username != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    tag = tag != NULL ? tag : "";
    advance(d, now_s);
    if (!userhash_parse_uint32(username, &out->hash) &&
        director_hash(d, username, &out->hash) != DIRECTOR_OK)
        return DIRECTOR_TRYAGAIN;
    struct dirusers *dir = dir_find(d, tag);
    struct dirusers_entry e;
    if (dir != NULL && dirusers_lookup(dir, out->hash, now_s, &e)) {
        copy_ip(out->current_ip, d->ring, e.host_id);
        out->expire_s = e.timestamp_s + d->expire_s;
    }
    ring_ip(d->ring, tag, out->hash, out->hashed_ip);
    ring_ip(d->initial, tag, out->hash, out->initial_ip);
    return DIRECTOR_OK;
}

void director_user_iter_init(const struct director *d, struct director_user_iter *it)
{
    assert(it != NULL);
    (void)d; /* the walk starts at the first tag whatever the state */
    memset(it, 0, sizeof(*it));
}

void director_map_begin(struct director *d, int64_t now_s, struct director_user_iter *it)
{
    advance(d, now_s);
    walk_all(d, now_s);
    director_user_iter_init(d, it);
}

bool director_user_iter_next(const struct director *d, struct director_user_iter *it,
                             struct director_user_row *out)
{
    assert(d != NULL && it != NULL && out != NULL);
    while (it->tag_index < dirring_tag_count(d->ring)) {
        const struct dirusers *dir = d->dirs[it->tag_index];
        if (dir != NULL && !it->in_tag) {
            dirusers_iter_init(dir, &it->it);
            it->in_tag = true;
        }
        struct dirusers_entry e;
        if (dir != NULL && dirusers_iter_next(dir, &it->it, &e)) {
            memset(out, 0, sizeof(*out));
            out->tag = dirring_tag_name(d->ring, it->tag_index);
            out->hash = e.hash;
            copy_ip(out->ip, d->ring, e.host_id);
            out->timestamp_s = e.timestamp_s;
            out->expire_s = e.timestamp_s + d->expire_s;
            out->kill_until_s = e.kill_until_s;
            return true;
        }
        it->tag_index++;
        it->in_tag = false;
    }
    return false;
}

/* The index-th initial-config host that no longer exists, in host order. */
static bool removed_initial(const struct director *d, size_t index, uint32_t *id_out)
{
    for (size_t i = 0; i < dirring_host_count(d->initial); i++) {
        uint32_t id = dirring_host_id_at(d->initial, i);
        if (dirring_host_find(d->ring, &dirring_host_get(d->initial, id)->addr, NULL))
            continue;
        if (index-- == 0) {
            *id_out = id;
            return true;
        }
    }
    return false;
}

bool director_dump_line(const struct director *d, size_t index, char *buf, size_t size)
{
    assert(d != NULL && buf != NULL);
    size_t hosts = dirring_host_count(d->ring);
    int n;
    if (index < hosts) {
        const struct dirring_host *h =
            dirring_host_get(d->ring, dirring_host_id_at(d->ring, index));
        n = snprintf(buf, size, "doveadm director add %s%s%s %u", h->ip_text,
                     h->tag[0] != '\0' ? "@" : "", h->tag, h->vhost_count);
    } else {
        uint32_t id;
        if (!removed_initial(d, index - hosts, &id))
            return false;
        n = snprintf(buf, size, "doveadm director remove %s ",
                     dirring_host_get(d->initial, id)->ip_text);
    }
    return n >= 0 && (size_t)n < size;
}

size_t director_tag_count(const struct director *d)
{
    assert(d != NULL);
    return dirring_tag_count(d->ring);
}

const char *director_tag_name(const struct director *d, size_t index)
{
    assert(d != NULL);
    return dirring_tag_name(d->ring, index);
}

int64_t director_tag_timer_at(const struct director *d, size_t index)
{
    assert(d != NULL && index < dirring_tag_count(d->ring));
    return d->dirs[index] != NULL ? dirusers_timer_at(d->dirs[index]) : 0;
}

enum director_result director_restore_begin(struct director *d)
{
    assert(d != NULL);
    /* A fresh ring object is the only way to forget tags. */
    struct dirring *fresh = dirring_create(d->hosts_max);
    if (fresh == NULL)
        return DIRECTOR_ERR_NOMEM;
    for (size_t i = 0; i < DIRRING_TAGS_MAX; i++) {
        dirusers_destroy(d->dirs[i]);
        d->dirs[i] = NULL;
    }
    dirring_destroy(d->ring);
    d->ring = fresh;
    return DIRECTOR_OK;
}

enum director_result director_restore_tag(struct director *d, const char *tag,
                                          int64_t timer_at_s)
{
    assert(d != NULL && tag != NULL);
    if (timer_at_s < 0)
        return DIRECTOR_ERR_INVALID;
    enum director_result r = from_ring(dirring_tag_add(d->ring, tag, NULL));
    if (r != DIRECTOR_OK || timer_at_s == 0)
        return r;
    struct dirusers *dir = dir_get(d, tag);
    if (dir == NULL)
        return DIRECTOR_ERR_NOMEM;
    dirusers_set_timer(dir, timer_at_s);
    return DIRECTOR_OK;
}

enum director_result director_restore_host(struct director *d,
                                           const struct director_host_row *row)
{
    assert(d != NULL && row != NULL);
    struct dirring_addr a;
    if (!dirring_addr_parse(row->ip, &a))
        return DIRECTOR_ERR_HOST_INVALID;
    if (row->vhost_count > DIRECTOR_VHOST_MAX)
        return DIRECTOR_ERR_VHOST_TOO_LARGE;
    if (memchr(row->tag, '\0', sizeof(row->tag)) == NULL)
        return DIRECTOR_ERR_INVALID;
    uint32_t id;
    enum dirring_result r = dirring_host_add(d->ring, &a, row->tag, &id);
    if (r == DIRRING_ERR_EXISTS)
        return DIRECTOR_ERR_INVALID;
    if (r != DIRRING_OK)
        return from_ring(r);
    dirring_host_set_vhost_count(d->ring, id, row->vhost_count);
    dirring_host_set_down(d->ring, id, row->down, row->last_updown_change_s);
    return DIRECTOR_OK;
}

enum director_result director_restore_user(struct director *d,
                                           const struct director_user_row *row)
{
    assert(d != NULL && row != NULL && row->tag != NULL);
    uint32_t id;
    enum director_result r = find_host(d, row->ip, &id);
    if (r != DIRECTOR_OK)
        return r == DIRECTOR_NOTFOUND ? DIRECTOR_ERR_INVALID : r;
    if (strcmp(dirring_host_get(d->ring, id)->tag, row->tag) != 0)
        return DIRECTOR_ERR_INVALID;
    struct dirusers *dir = dir_get(d, row->tag);
    if (dir == NULL)
        return DIRECTOR_ERR_NOMEM;
    if (total_users(d) >= d->users_max)
        return DIRECTOR_ERR_FULL;
    struct dirusers_entry e = {
        .hash = row->hash, .host_id = id, .timestamp_s = row->timestamp_s,
        .kill_until_s = row->kill_until_s,
    };
    return from_users(dirusers_append(dir, &e));
}
