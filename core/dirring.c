/*
 * Hosts and per-tag vhost rings of the Dovecot 2.3 director. Behaviour that
 * depends on order always goes through the sorted host array or a sorted
 * ring, never through slot order, so results are deterministic.
 */
#include "dirring.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "md5.h"

struct dirring_tag {
    char name[DIRRING_TAG_SIZE];
    struct dirring_point *points;
    size_t point_count;
    size_t point_cap;
    bool dirty;
};

struct dirring {
    size_t hosts_max;
    struct dirring_host *slots;   /* indexed by host id */
    bool *slot_used;
    uint32_t *order;              /* host ids in host order */
    size_t host_count;
    struct dirring_tag tags[DIRRING_TAGS_MAX];
    size_t tag_count;
};

/* A ring point during a build: rank is the host's position in host order,
 * the tie-break Dovecot uses after the hash. */
struct build_point {
    uint32_t hash;
    uint32_t rank;
    uint32_t host_id;
};

bool dirring_addr_parse(const char *text, struct dirring_addr *addr_out)
{
    assert(text != NULL && addr_out != NULL);
    struct dirring_addr a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, text, a.bytes) == 1) {
        a.is_v6 = false;
    } else if (inet_pton(AF_INET6, text, a.bytes) == 1) {
        a.is_v6 = true;
    } else {
        return false;
    }
    *addr_out = a;
    return true;
}

void dirring_addr_text(const struct dirring_addr *addr, char out[DIRRING_IP_TEXT_SIZE])
{
    assert(addr != NULL && out != NULL);
    const char *r = inet_ntop(addr->is_v6 ? AF_INET6 : AF_INET, addr->bytes, out,
                              DIRRING_IP_TEXT_SIZE);
    assert(r != NULL);
    (void)r;
}

int dirring_addr_cmp(const struct dirring_addr *a, const struct dirring_addr *b)
{
    assert(a != NULL && b != NULL);
    /* AF_INET (2) sorts before AF_INET6 (10). */
    if (a->is_v6 != b->is_v6)
        return a->is_v6 ? 1 : -1;
    return memcmp(a->bytes, b->bytes, a->is_v6 ? 16 : 4);
}

uint32_t dirring_point_hash(const char *ip_text, unsigned index)
{
    char buf[DIRRING_IP_TEXT_SIZE + 16];
    int n = snprintf(buf, sizeof(buf), "%s-%u", ip_text, index);
    assert(n > 0 && (size_t)n < sizeof(buf));
    uint8_t d[MD5_DIGEST_SIZE];
    md5_digest(buf, (size_t)n, d);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

struct dirring *dirring_create(size_t hosts_max)
{
    assert(hosts_max > 0 && hosts_max <= DIRRING_HOSTS_MAX);
    struct dirring *ring = calloc(1, sizeof(*ring));
    if (ring == NULL)
        return NULL;
    ring->hosts_max = hosts_max;
    ring->slots = calloc(hosts_max, sizeof(*ring->slots));
    ring->slot_used = calloc(hosts_max, sizeof(*ring->slot_used));
    ring->order = calloc(hosts_max, sizeof(*ring->order));
    if (ring->slots == NULL || ring->slot_used == NULL || ring->order == NULL) {
        dirring_destroy(ring);
        return NULL;
    }
    return ring;
}

void dirring_destroy(struct dirring *ring)
{
    if (ring == NULL)
        return;
    for (size_t i = 0; i < ring->tag_count; i++)
        free(ring->tags[i].points);
    free(ring->slots);
    free(ring->slot_used);
    free(ring->order);
    free(ring);
}

/* Position of addr in the host order, or where it would be inserted. */
static size_t order_search(const struct dirring *ring, const struct dirring_addr *addr,
                           bool *found)
{
    size_t lo = 0, hi = ring->host_count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = dirring_addr_cmp(&ring->slots[ring->order[mid]].addr, addr);
        if (c < 0) {
            lo = mid + 1;
        } else if (c > 0) {
            hi = mid;
        } else {
            *found = true;
            return mid;
        }
    }
    return lo;
}

bool dirring_tag_find(const struct dirring *ring, const char *tag, size_t *tag_index_out)
{
    assert(ring != NULL && tag != NULL);
    for (size_t i = 0; i < ring->tag_count; i++) {
        if (strcmp(ring->tags[i].name, tag) == 0) {
            if (tag_index_out != NULL)
                *tag_index_out = i;
            return true;
        }
    }
    return false;
}

enum dirring_result dirring_tag_add(struct dirring *ring, const char *tag,
                                    size_t *tag_index_out)
{
    assert(ring != NULL && tag != NULL);
    size_t idx;
    if (!dirring_tag_find(ring, tag, &idx)) {
        if (strlen(tag) > DIRRING_TAG_LEN_MAX)
            return DIRRING_ERR_INVALID;
        if (ring->tag_count == DIRRING_TAGS_MAX)
            return DIRRING_ERR_FULL;
        idx = ring->tag_count++;
        struct dirring_tag *t = &ring->tags[idx];
        memset(t, 0, sizeof(*t));
        memcpy(t->name, tag, strlen(tag) + 1);
        t->dirty = true;
    }
    if (tag_index_out != NULL)
        *tag_index_out = idx;
    return DIRRING_OK;
}

size_t dirring_tag_count(const struct dirring *ring)
{
    assert(ring != NULL);
    return ring->tag_count;
}

const char *dirring_tag_name(const struct dirring *ring, size_t tag_index)
{
    assert(ring != NULL && tag_index < ring->tag_count);
    return ring->tags[tag_index].name;
}

static void mark_dirty(struct dirring *ring, const char *tag)
{
    size_t idx;
    if (dirring_tag_find(ring, tag, &idx))
        ring->tags[idx].dirty = true;
}

enum dirring_result dirring_host_add(struct dirring *ring, const struct dirring_addr *addr,
                                     const char *tag, uint32_t *id_out)
{
    assert(ring != NULL && addr != NULL && tag != NULL);
    bool found;
    size_t pos = order_search(ring, addr, &found);
    if (found)
        return DIRRING_ERR_EXISTS;
    if (ring->host_count == ring->hosts_max)
        return DIRRING_ERR_FULL;
    enum dirring_result r = dirring_tag_add(ring, tag, NULL);
    if (r != DIRRING_OK)
        return r;

    uint32_t id = 0;
    while (ring->slot_used[id])
        id++;
    struct dirring_host *h = &ring->slots[id];
    memset(h, 0, sizeof(*h));
    h->addr = *addr;
    dirring_addr_text(addr, h->ip_text);
    memcpy(h->tag, tag, strlen(tag) + 1);
    h->vhost_count = DIRRING_VHOST_DEFAULT;
    ring->slot_used[id] = true;

    memmove(&ring->order[pos + 1], &ring->order[pos],
            (ring->host_count - pos) * sizeof(ring->order[0]));
    ring->order[pos] = id;
    ring->host_count++;
    mark_dirty(ring, tag);
    if (id_out != NULL)
        *id_out = id;
    return DIRRING_OK;
}

bool dirring_host_find(const struct dirring *ring, const struct dirring_addr *addr,
                       uint32_t *id_out)
{
    assert(ring != NULL && addr != NULL);
    bool found;
    size_t pos = order_search(ring, addr, &found);
    if (found && id_out != NULL)
        *id_out = ring->order[pos];
    return found;
}

const struct dirring_host *dirring_host_get(const struct dirring *ring, uint32_t id)
{
    assert(ring != NULL && id < ring->hosts_max && ring->slot_used[id]);
    return &ring->slots[id];
}

void dirring_host_remove(struct dirring *ring, uint32_t id)
{
    const struct dirring_host *h = dirring_host_get(ring, id);
    bool found;
    size_t pos = order_search(ring, &h->addr, &found);
    assert(found);
    memmove(&ring->order[pos], &ring->order[pos + 1],
            (ring->host_count - pos - 1) * sizeof(ring->order[0]));
    ring->host_count--;
    mark_dirty(ring, h->tag);
    ring->slot_used[id] = false;
}

void dirring_host_set_vhost_count(struct dirring *ring, uint32_t id, unsigned vhost_count)
{
    assert(vhost_count <= DIRRING_VHOST_MAX);
    (void)dirring_host_get(ring, id);
    ring->slots[id].vhost_count = vhost_count;
    mark_dirty(ring, ring->slots[id].tag);
}

void dirring_host_set_down(struct dirring *ring, uint32_t id, bool down, int64_t changed_s)
{
    (void)dirring_host_get(ring, id);
    ring->slots[id].down = down;
    ring->slots[id].last_updown_change_s = changed_s;
    mark_dirty(ring, ring->slots[id].tag);
}

size_t dirring_host_count(const struct dirring *ring)
{
    assert(ring != NULL);
    return ring->host_count;
}

uint32_t dirring_host_id_at(const struct dirring *ring, size_t order_index)
{
    assert(ring != NULL && order_index < ring->host_count);
    return ring->order[order_index];
}

static int build_point_cmp(const void *pa, const void *pb)
{
    const struct build_point *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return 0;
}

/* Collects the points of every up host with vhosts in tag, in host order. */
static struct build_point *collect_points(const struct dirring *ring, const char *tag,
                                          size_t *count_out)
{
    size_t total = 0;
    for (size_t i = 0; i < ring->host_count; i++) {
        const struct dirring_host *h = &ring->slots[ring->order[i]];
        if (!h->down && strcmp(h->tag, tag) == 0)
            total += h->vhost_count;
    }
    struct build_point *pts = malloc((total > 0 ? total : 1) * sizeof(*pts));
    if (pts == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < ring->host_count; i++) {
        const struct dirring_host *h = &ring->slots[ring->order[i]];
        if (h->down || strcmp(h->tag, tag) != 0)
            continue;
        for (unsigned v = 0; v < h->vhost_count; v++) {
            pts[n].hash = dirring_point_hash(h->ip_text, v);
            pts[n].rank = (uint32_t)i;
            pts[n].host_id = ring->order[i];
            n++;
        }
    }
    assert(n == total);
    *count_out = n;
    return pts;
}

/* collect_points in ring order. Only points of one host can tie on (hash,
 * rank), and those are interchangeable, so the unstable qsort gives one
 * result. */
static struct build_point *sorted_points(const struct dirring *ring, const char *tag,
                                         size_t *count_out)
{
    struct build_point *pts = collect_points(ring, tag, count_out);
    if (pts != NULL)
        qsort(pts, *count_out, sizeof(*pts), build_point_cmp);
    return pts;
}

static enum dirring_result tag_rebuild(struct dirring *ring, struct dirring_tag *t)
{
    size_t n;
    struct build_point *pts = sorted_points(ring, t->name, &n);
    if (pts == NULL)
        return DIRRING_ERR_NOMEM;
    if (n > t->point_cap) {
        struct dirring_point *np = realloc(t->points, n * sizeof(*np));
        if (np == NULL) {
            free(pts);
            return DIRRING_ERR_NOMEM;
        }
        t->points = np;
        t->point_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        t->points[i].hash = pts[i].hash;
        t->points[i].host_id = pts[i].host_id;
    }
    t->point_count = n;
    t->dirty = false;
    free(pts);
    return DIRRING_OK;
}

enum dirring_result dirring_points(struct dirring *ring, const char *tag,
                                   const struct dirring_point **points_out, size_t *count_out)
{
    assert(ring != NULL && tag != NULL && points_out != NULL && count_out != NULL);
    size_t idx;
    if (!dirring_tag_find(ring, tag, &idx))
        return DIRRING_NONE;
    struct dirring_tag *t = &ring->tags[idx];
    if (t->dirty) {
        enum dirring_result r = tag_rebuild(ring, t);
        if (r != DIRRING_OK)
            return r;
    }
    *points_out = t->points;
    *count_out = t->point_count;
    return DIRRING_OK;
}

enum dirring_result dirring_points_peek(const struct dirring *ring, const char *tag,
                                        const struct dirring_point **points_out,
                                        size_t *count_out, struct dirring_point **scratch)
{
    assert(ring != NULL && tag != NULL && points_out != NULL && count_out != NULL);
    assert(scratch != NULL);
    *scratch = NULL;
    size_t idx;
    if (!dirring_tag_find(ring, tag, &idx))
        return DIRRING_NONE;
    const struct dirring_tag *t = &ring->tags[idx];
    if (!t->dirty) {
        *points_out = t->points;
        *count_out = t->point_count;
        return DIRRING_OK;
    }
    size_t n;
    struct build_point *pts = sorted_points(ring, tag, &n);
    struct dirring_point *out = pts != NULL ? malloc((n > 0 ? n : 1) * sizeof(*out)) : NULL;
    if (out == NULL) {
        free(pts);
        return DIRRING_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (struct dirring_point){pts[i].hash, pts[i].host_id};
    free(pts);
    *scratch = out;
    *points_out = out;
    *count_out = n;
    return DIRRING_OK;
}

size_t dirring_search(const struct dirring_point *points, size_t count, uint32_t hash)
{
    assert(points != NULL || count == 0);
    /* bsearch_insert_pos: an exact hit stops at the probed point, which with
     * duplicate hashes need not be the first of them. */
    size_t left = 0, right = count, idx = 0;
    while (left < right) {
        idx = left + (right - left) / 2;
        if (points[idx].hash < hash)
            left = idx + 1;
        else if (points[idx].hash > hash)
            right = idx;
        else
            return idx;
    }
    if (left > idx)
        idx++;
    return idx == count ? 0 : idx;
}

enum dirring_result dirring_lookup(struct dirring *ring, const char *tag, uint32_t hash,
                                   uint32_t *host_id_out)
{
    assert(host_id_out != NULL);
    const struct dirring_point *pts;
    size_t n;
    enum dirring_result r = dirring_points(ring, tag, &pts, &n);
    if (r != DIRRING_OK)
        return r;
    if (n == 0)
        return DIRRING_NONE;
    *host_id_out = pts[dirring_search(pts, n, hash)].host_id;
    return DIRRING_OK;
}
