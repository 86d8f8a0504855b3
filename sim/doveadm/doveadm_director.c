/*
 * `doveadm director ...` over core/director, as doveadm 2.3.19 talks to a
 * standalone director (director.md sections 5 and 6, and what the real
 * binaries print, checked by tests/director-conformance.sh). doveadm and the
 * director share one configuration here, the one stored with the state, so
 * the hashes doveadm computes (move, map) use the director's format.
 *
 * Reading commands never change the file, with one exception that keeps
 * the model exact: in Dovecot `status USER` and `map` walk the expiry list
 * and free expired entries, which later `status` output shows; when they
 * do change the state, that change is saved (and only then).
 */
#include "sim/doveadm/doveadm_director.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "core/userhash.h"
#include "sim/base/lines.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_director.h"

/* Users files of `map -f`: at most this many names and bytes per name. */
#define NAMES_MAX 10000000
#define NAME_LINE_MAX 65536
#define DUMP_LINE_SIZE 256

/* ---- argument parsing, as doveadm does it ---- */

/* Dovecot's str_to_uint: digits only, at least one, <= UINT_MAX. */
static bool parse_uint32(const char *s, uint32_t *out)
{
    return userhash_parse_uint32(s, out);
}

/* The fast path of Dovecot's net_addr2ip: one decimal number, or four
 * decimal parts below 256 (leading zeros are decimal here). */
static bool ipv4_decimal(const char *s, uint8_t out[4])
{
    uint32_t whole;
    if (parse_uint32(s, &whole)) {
        for (int i = 0; i < 4; i++)
            out[i] = (uint8_t)(whole >> (24 - 8 * i));
        return true;
    }
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 10)
            return false;
        unsigned long v = strtoul(p, NULL, 10);
        if (v > 255)
            return false;
        out[i] = (uint8_t)v;
        p += digits;
        if (i < 3 && *p++ != '.')
            return false;
    }
    return *p == '\0';
}

/* One part of a classic inet_aton address: 0x hex, 0 octal, else decimal. */
static bool aton_part(const char **p, uint64_t *out)
{
    const char *s = *p;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0') {
        base = 8;
    }
    const char *digits = base == 16  ? "0123456789abcdefABCDEF"
                         : base == 8 ? "01234567"
                                     : "0123456789";
    size_t n = strspn(s, digits);
    if (n == 0 || n > 24)
        return false;
    char buf[32];
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtoull(buf, NULL, base);
    *p = s + n;
    return *out <= UINT32_MAX;
}

/* The numeric forms getaddrinfo accepts (inet_aton's a, a.b, a.b.c,
 * a.b.c.d), trailing white space allowed. */
static bool ipv4_aton(const char *s, uint8_t out[4])
{
    uint64_t parts[4];
    int n = 0;
    const char *p = s;
    for (;;) {
        if (n == 4 || !aton_part(&p, &parts[n]))
            return false;
        n++;
        if (*p != '.')
            break;
        p++;
    }
    if (p[strspn(p, " \t\n\r\f\v")] != '\0')
        return false;
    uint64_t last_max = UINT32_MAX >> (8 * (n - 1));
    if (parts[n - 1] > last_max)
        return false;
    uint32_t v = (uint32_t)parts[n - 1];
    for (int i = 0; i < n - 1; i++) {
        if (parts[i] > 255)
            return false;
        v |= (uint32_t)parts[i] << (24 - 8 * i);
    }
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (24 - 8 * i));
    return true;
}

/* IPv6 text, optionally in brackets. */
static bool ipv6_text(const char *s, char ip_out[DIRRING_IP_TEXT_SIZE])
{
    char buf[DIRRING_IP_TEXT_SIZE + 2];
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len >= DIRRING_IP_TEXT_SIZE)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct dirring_addr a;
    if (strchr(buf, ':') == NULL || !dirring_addr_parse(buf, &a))
        return false;
    dirring_addr_text(&a, ip_out);
    return true;
}

/*
 * A HOST argument as doveadm resolves it, to the director's IP text. On the
 * command line host names are not resolved (a deterministic simulator has
 * no DNS): they fail as an unknown name does. Inside a simulation the
 * scenario's backends are the DNS.
 */
static bool host_parse(const char *host, char ip_out[DIRRING_IP_TEXT_SIZE])
{
    uint8_t b[4];
    if (strchr(host, ':') != NULL)
        return ipv6_text(host, ip_out);
    if (!ipv4_decimal(host, b) && !ipv4_aton(host, b))
        return false;
    snprintf(ip_out, DIRRING_IP_TEXT_SIZE, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return true;
}

static int host_arg(struct doveadm_ctx *ctx, const char *host, char ip_out[DIRRING_IP_TEXT_SIZE])
{
    if (host_parse(host, ip_out))
        return DOVEADM_EX_OK;
    if (ctx->live != NULL && ctx->live->resolve != NULL &&
        ctx->live->resolve(ctx->live->ctx, host, ip_out, DIRRING_IP_TEXT_SIZE) == 0)
        return DOVEADM_EX_OK;
    return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                          "gethostname(%s) failed: Name or service not known", host);
}

/* add and update refuse a host that is a plain number. */
static int host_not_number(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                           const char *host)
{
    uint32_t ignored;
    if (!parse_uint32(host, &ignored))
        return DOVEADM_EX_OK;
    return doveadm__usage(ctx, args, "Invalid host '%s'", host);
}

/* ---- dates and the clock ---- */

/* "YYYY-MM-DD HH:MM:SS" in UTC: doveadm prints local time, and UTC is the
 * local time of a deterministic simulator. out must hold 32 bytes. */
static void format_date(int64_t seconds, char *out, size_t size)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, size, "%" PRId64, seconds);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The command's time; see doveadm_director.h. */
static int now_resolve(struct doveadm_ctx *ctx, bool write, int64_t clock_s, int64_t *now_s)
{
    const int64_t us = 1000000;
    if (ctx->director_now_s >= 0)
        *now_s = ctx->director_now_s;
    else if (ctx->now_us >= 0)
        *now_s = ctx->now_us / us;
    else if (write)
        *now_s = max64(clock_s + 1, geodb_clock(ctx->db) / us);
    else
        *now_s = max64(clock_s, geodb_clock_stored(ctx->db) / us);
    if (*now_s < clock_s)
        return doveadm__error(ctx, DOVEADM_EX_USAGE,
                              "time %" PRId64 " is before the director's clock (%" PRId64
                              "): time cannot go backwards (see -o director_now)",
                              *now_s, clock_s);
    return DOVEADM_EX_OK;
}

/* ---- loading and saving ---- */

/* director_mail_servers lists compare word by word. */
static bool servers_equal(const char *a, const char *b)
{
    for (;;) {
        a += strspn(a, " \t");
        b += strspn(b, " \t");
        size_t la = strcspn(a, " \t"), lb = strcspn(b, " \t");
        if (la != lb || strncmp(a, b, la) != 0)
            return false;
        if (la == 0)
            return true;
        a += la;
        b += lb;
    }
}

/*
 * A director's settings are fixed when its state is created (Dovecot would
 * need a restart, which forgets every assignment). Repeating them is fine;
 * a different value is refused rather than silently ignored. The hash format
 * and the expiry cannot tell "not given" from their defaults, so only a
 * non-default value can be told apart.
 */
static int settings_check(struct doveadm_ctx *ctx, const struct director *d)
{
    struct director_settings set;
    director_settings_get(d, &set);
    const char *what = NULL;
    if (ctx->director_mail_servers[0] != '\0' &&
        !servers_equal(ctx->director_mail_servers, set.mail_servers))
        what = "director_mail_servers";
    else if (strcmp(ctx->director_hash, DIRECTOR_USERNAME_HASH_DEFAULT) != 0 &&
             strcmp(ctx->director_hash, set.username_hash) != 0)
        what = "director_username_hash";
    else if (ctx->director_expire_s != DIRECTOR_USER_EXPIRE_DEFAULT_S &&
             ctx->director_expire_s != set.user_expire_s)
        what = "director_user_expire";
    if (what == NULL)
        return DOVEADM_EX_OK;
    return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                          "%s differs from the director state in %s, which was created with "
                          "director_mail_servers='%s' director_username_hash=%s "
                          "director_user_expire=%" PRId64 " (a director's settings are fixed "
                          "when its state is created)",
                          what, geodb_path(ctx->db), set.mail_servers, set.username_hash,
                          set.user_expire_s);
}

static int state_create(struct doveadm_ctx *ctx, const char *servers, struct director **out)
{
    struct director_settings set;
    director_settings_init(&set);
    set.username_hash = ctx->director_hash;
    set.user_expire_s = ctx->director_expire_s;
    set.mail_servers = servers;
    uint32_t ignored;
    if (userhash_compute(ctx->director_hash, "", &ignored) != USERHASH_OK)
        return doveadm__error(ctx, DOVEADM_EX_USAGE,
                              "director_username_hash=%s: a format clustersim cannot expand",
                              ctx->director_hash);
    enum director_result r = director_create(&set, out);
    if (r == DIRECTOR_OK)
        return DOVEADM_EX_OK;
    return doveadm__error(ctx, DOVEADM_EX_USAGE,
                          "director_mail_servers='%s': %s (expected IP, IP@tag or IP1-IP2[@tag] "
                          "separated by spaces)",
                          servers, director_result_text(r));
}

static int state_load(struct doveadm_ctx *ctx, const char *initial,
                      struct doveadm_director_state *st)
{
    char err[256] = "";
    int rc = geodb_director_load(ctx->db, &st->d, &st->clock_s, err, sizeof(err));
    if (rc == GEODB_OK)
        return settings_check(ctx, st->d);
    if (rc == GEODB_INVALID)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: invalid director state: %s",
                              geodb_path(ctx->db), err);
    if (rc != GEODB_NOTFOUND)
        return doveadm__geodb(ctx, rc, "read director state");
    st->clock_s = -1;
    const char *servers =
        ctx->director_mail_servers[0] != '\0' ? ctx->director_mail_servers : initial;
    if (servers == NULL)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND,
                              "%s: no director state (the first `director add HOST` creates it, "
                              "or give -o director_mail_servers=...)",
                              geodb_path(ctx->db));
    return state_create(ctx, servers, &st->d);
}

int doveadm_director_open(struct doveadm_ctx *ctx, bool write, const char *initial,
                          struct doveadm_director_state *st)
{
    assert(ctx != NULL && ctx->db != NULL && st != NULL);
    memset(st, 0, sizeof(*st));
    int ex = state_load(ctx, initial, st);
    if (ex == DOVEADM_EX_OK)
        ex = now_resolve(ctx, write, st->clock_s, &st->now_s);
    if (ex != DOVEADM_EX_OK) {
        doveadm_director_close(st);
        return ex;
    }
    /* Timers due by now fire first, as in the running director. */
    director_advance(st->d, st->now_s);
    return DOVEADM_EX_OK;
}

int doveadm_director_save(struct doveadm_ctx *ctx, const struct doveadm_director_state *st)
{
    ctx->changed |= DOVEADM_CHANGED_DIRECTOR;
    return doveadm__geodb(ctx, geodb_director_save(ctx->db, st->d, st->now_s),
                          "write director state");
}

void doveadm_director_close(struct doveadm_director_state *st)
{
    director_destroy(st->d);
    st->d = NULL;
}

/* What a read's side effects can change: entries freed, timers re-armed. */
struct state_mark {
    size_t users;
    size_t tags;
    int64_t timers[DIRRING_TAGS_MAX];
};

static void state_mark(const struct director *d, struct state_mark *m)
{
    m->users = director_user_total(d);
    m->tags = director_tag_count(d);
    for (size_t i = 0; i < m->tags; i++)
        m->timers[i] = director_tag_timer_at(d, i);
}

static bool state_changed(const struct state_mark *a, const struct state_mark *b)
{
    return a->users != b->users || a->tags != b->tags ||
           memcmp(a->timers, b->timers, a->tags * sizeof(a->timers[0])) != 0;
}

static int save_in(struct doveadm_ctx *ctx, struct geodb *db,
                   const struct doveadm_director_state *st)
{
    bool own_tx = !geodb_in_tx(db);
    int rc = own_tx ? geodb_tx_begin(db) : GEODB_OK;
    if (rc == GEODB_OK)
        rc = geodb_director_save(db, st->d, st->now_s);
    if (own_tx && geodb_in_tx(db))
        rc = geodb_tx_end(db, rc);
    if (rc != GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "write director state: %s",
                              geodb_errmsg(db));
    ctx->changed |= DOVEADM_CHANGED_DIRECTOR;
    return DOVEADM_EX_OK;
}

/* Saves what a reading command changed, through a writable connection
 * when the command's own one is not. */
static int save_side_effects(struct doveadm_ctx *ctx, const struct doveadm_director_state *st,
                             const struct state_mark *before)
{
    struct state_mark after;
    state_mark(st->d, &after);
    if (st->clock_s < 0 || !state_changed(before, &after))
        return DOVEADM_EX_OK;
    if (!geodb_readonly(ctx->db))
        return save_in(ctx, ctx->db, st);
    struct geodb_options opts = {.create = false};
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    if (geodb_open(geodb_path(ctx->db), &opts, &db, err, sizeof(err)) != GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s", err);
    int ex = save_in(ctx, db, st);
    geodb_close(db);
    return ex;
}

/* ---- users files (map -f) ---- */

struct name_entry {
    uint32_t hash;
    size_t order;
    char *name;
};

struct names {
    size_t n;
    size_t cap;
    struct name_entry *v;
};

static void names_free(struct names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i].name);
    free(names->v);
    memset(names, 0, sizeof(*names));
}

static bool names_add(struct names *names, const char *fmt, const char *name)
{
    uint32_t hash;
    /* A name this model cannot hash (longer than it expands) is left out. */
    if (userhash_compute(fmt, name, &hash) != USERHASH_OK)
        return true;
    if (names->n == names->cap) {
        size_t cap = names->cap ? names->cap * 2 : 64;
        struct name_entry *v = realloc(names->v, cap * sizeof(*v));
        if (v == NULL)
            return false;
        names->v = v;
        names->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return false;
    names->v[names->n] = (struct name_entry){.hash = hash, .order = names->n, .name = copy};
    names->n++;
    return true;
}

/* By hash, and for one hash the name read last first: doveadm keeps each
 * hash's names in a list it prepends to. */
static int name_cmp(const void *a, const void *b)
{
    const struct name_entry *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->order < y->order ? 1 : x->order > y->order ? -1 : 0;
}

/* Reads one name per line (LF or CRLF; empty lines are names too). As in
 * doveadm 2.3.19, a last line without a newline is not read, and a users
 * file that cannot be opened is ignored. A line too long for any name, or
 * more than NAMES_MAX names, is an error rather than a cut list. */
static int names_load(struct doveadm_ctx *ctx, const char *path, const char *fmt,
                      struct names *names)
{
    memset(names, 0, sizeof(*names));
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL)
        return DOVEADM_EX_OK;
    char *line = malloc(NAME_LINE_MAX);
    int ex = line == NULL ? doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory")
                          : DOVEADM_EX_OK;
    size_t lineno = 0;
    while (ex == DOVEADM_EX_OK) {
        struct lines_line l;
        enum lines_result r = lines_read(f, line, NAME_LINE_MAX, &l);
        lineno++;
        if (r == LINES_EOF || (r == LINES_OK && !l.newline))
            break;
        if (r == LINES_ERROR)
            ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: %s", path, strerror(errno));
        else if (r == LINES_TOO_LONG)
            ex = doveadm__error(ctx, DOVEADM_EX_USAGE, "%s line %zu: longer than %d bytes",
                                path, lineno, NAME_LINE_MAX - 1);
        else if (names->n >= NAMES_MAX)
            ex = doveadm__error(ctx, DOVEADM_EX_USAGE, "%s: more than %d names", path,
                                NAMES_MAX);
        if (ex != DOVEADM_EX_OK)
            break;
        if (l.len > 0 && line[l.len - 1] == '\r')
            line[--l.len] = '\0';
        if (!l.has_nul && !names_add(names, fmt, line))
            ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    }
    free(line);
    fclose(f);
    if (ex != DOVEADM_EX_OK) {
        names_free(names);
        return ex;
    }
    if (names->n > 0)
        qsort(names->v, names->n, sizeof(names->v[0]), name_cmp);
    return DOVEADM_EX_OK;
}

/* Index of the first name with hash, or names->n. */
static size_t names_find(const struct names *names, uint32_t hash)
{
    size_t lo = 0, hi = names->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (names->v[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- output ---- */

static struct fmt_table *table_new(int ncols, const char *const *titles, unsigned flags0)
{
    struct fmt_table *t = fmt_table_new(ncols, titles);
    if (t != NULL)
        fmt_table_set_flags(t, 0, flags0);
    return t;
}

/* Adds a row; on failure frees the table and returns NULL. */
static struct fmt_table *table_add(struct fmt_table *t, const char *const *row)
{
    if (t != NULL && fmt_table_add(t, row) != 0) {
        fmt_table_free(t);
        return NULL;
    }
    return t;
}

/* ---- commands ---- */

static int result_error(struct doveadm_ctx *ctx, const char *ip, enum director_result r,
                        int notfound_ex, const char *notfound_prefix)
{
    if (r == DIRECTOR_OK)
        return DOVEADM_EX_OK;
    if (r == DIRECTOR_NOTFOUND) {
        fprintf(ctx->err, "%s: %s: doesn't exist\n", notfound_prefix, ip);
        return notfound_ex;
    }
    return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: %s", ip, director_result_text(r));
}

/* Runs a write operation on a loaded state and saves it. */
static int finish_write(struct doveadm_ctx *ctx, struct doveadm_director_state *st, int ex)
{
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_save(ctx, st);
    doveadm_director_close(st);
    return ex;
}

/* The tag of `add`: -t, else what follows the first '@' of HOST. */
static void add_split(const struct doveadm_args *args, char *host, size_t size, const char **tag)
{
    const char *t = doveadm_opt(args, "-t");
    snprintf(host, size, "%s", args->argv[0]);
    *tag = "";
    if (t != NULL && t[0] != '\0') {
        *tag = t;
        return;
    }
    char *at = strchr(host, '@');
    if (at != NULL) {
        *at = '\0';
        *tag = args->argv[0] + (at - host) + 1;
    }
}

static int cmd_add(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    char host[DOVEADM_SETTING_SIZE], ip[DIRRING_IP_TEXT_SIZE];
    const char *tag;
    add_split(args, host, sizeof(host), &tag);
    int ex = host_not_number(ctx, args, host);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* 4294967295 is doveadm's "no count given". */
    uint32_t count = UINT32_MAX;
    if (args->argc > 1 && !parse_uint32(args->argv[1], &count))
        return doveadm__usage(ctx, args, "invalid vhost count '%s'", args->argv[1]);
    ex = host_arg(ctx, host, ip);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (strlen(tag) > DIRRING_TAG_LEN_MAX || strpbrk(tag, " \t") != NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                              "%s: tag must be at most %d bytes without spaces", ip,
                              DIRRING_TAG_LEN_MAX);
    char initial[DIRRING_IP_TEXT_SIZE + DIRRING_TAG_SIZE + 1];
    snprintf(initial, sizeof(initial), "%s%s%s", ip, tag[0] ? "@" : "", tag);
    struct doveadm_director_state st;
    ex = doveadm_director_open(ctx, true, initial, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    int64_t n = count == UINT32_MAX ? DIRECTOR_VHOST_KEEP : (int64_t)count;
    enum director_result r = director_host_add(st.d, ip, tag, n, st.now_s);
    return finish_write(ctx, &st, result_error(ctx, ip, r, DOVEADM_EX_TEMPFAIL, "Error"));
}

static int cmd_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    char ip[DIRRING_IP_TEXT_SIZE];
    uint32_t count;
    int ex = host_not_number(ctx, args, args->argv[0]);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (!parse_uint32(args->argv[1], &count))
        return doveadm__usage(ctx, args, "invalid vhost count '%s'", args->argv[1]);
    ex = host_arg(ctx, args->argv[0], ip);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* doveadm sends it, and the director drops a HOST-UPDATE without a
     * count (this value is how doveadm spells "none"). */
    if (count == UINT32_MAX)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "director-admin unexpectedly disconnected");
    struct doveadm_director_state st;
    ex = doveadm_director_open(ctx, true, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    enum director_result r = director_host_update(st.d, ip, count, st.now_s);
    return finish_write(ctx, &st, result_error(ctx, ip, r, DOVEADM_EX_TEMPFAIL, "Error"));
}

enum host_op { OP_UP, OP_DOWN, OP_REMOVE };

static int host_cmd(struct doveadm_ctx *ctx, const struct doveadm_args *args, enum host_op op)
{
    char ip[DIRRING_IP_TEXT_SIZE];
    int ex = host_arg(ctx, args->argv[0], ip);
    struct doveadm_director_state st;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_open(ctx, true, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    enum director_result r = op == OP_UP     ? director_host_up(st.d, ip, st.now_s)
                             : op == OP_DOWN ? director_host_down(st.d, ip, st.now_s)
                                             : director_host_remove(st.d, ip, st.now_s);
    return finish_write(ctx, &st, result_error(ctx, ip, r, DOVEADM_EX_NOTFOUND, "Error"));
}

static int cmd_up(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return host_cmd(ctx, args, OP_UP);
}

static int cmd_down(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return host_cmd(ctx, args, OP_DOWN);
}

static int cmd_remove(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return host_cmd(ctx, args, OP_REMOVE);
}

static int cmd_flush(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *parallel = doveadm_opt(args, "--max-parallel");
    uint32_t ignored;
    /* Moves are instant in the model, so the bound changes nothing. */
    if (parallel != NULL && !parse_uint32(parallel, &ignored))
        return doveadm__usage(ctx, args, "invalid --max-parallel '%s'", parallel);
    bool all = strcmp(args->argv[0], "all") == 0;
    char ip[DIRRING_IP_TEXT_SIZE] = "";
    int ex = all ? DOVEADM_EX_OK : host_arg(ctx, args->argv[0], ip);
    struct doveadm_director_state st;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_open(ctx, true, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    const char *target = all ? NULL : ip;
    enum director_result r = doveadm_opt(args, "-F") != NULL
                                 ? director_flush(st.d, target, st.now_s)
                                 : director_reset(st.d, target, st.now_s);
    return finish_write(ctx, &st, result_error(ctx, ip, r, DOVEADM_EX_NOTFOUND, "Warning"));
}

static int cmd_move(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    char ip[DIRRING_IP_TEXT_SIZE];
    int ex = host_arg(ctx, args->argv[1], ip);
    struct doveadm_director_state st;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_open(ctx, true, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    enum director_result r = director_move(st.d, args->argv[0], ip, st.now_s);
    if (r == DIRECTOR_NOTFOUND)
        ex = doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "Host '%s' doesn't exist", ip);
    else if (r == DIRECTOR_TRYAGAIN)
        ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                            "User is already being moved, wait a while for it to be finished");
    else if (r != DIRECTOR_OK)
        ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "failed: %s", director_result_text(r));
    return finish_write(ctx, &st, ex);
}

static int cmd_kick(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct doveadm_director_state st;
    int ex = doveadm_director_open(ctx, false, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* The proxies drop the connections; no assignment changes. */
    enum director_result r = director_kick(st.d, args->argv[0]);
    doveadm_director_close(&st);
    if (r != DIRECTOR_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "failed: %s", director_result_text(r));
    return DOVEADM_EX_OK;
}

static struct fmt_table *status_table(const struct director *d)
{
    static const char *const titles[] = {"mail server ip", "tag",           "vhosts",
                                         "state",          "state changed", "users"};
    struct fmt_table *t = table_new(6, titles, 0);
    for (size_t i = 0; t != NULL && i < director_host_count(d); i++) {
        struct director_host_row h;
        director_host_row(d, i, &h);
        char vhosts[16], users[16], changed[32] = "-";
        snprintf(vhosts, sizeof(vhosts), "%u", h.vhost_count);
        snprintf(users, sizeof(users), "%" PRIu32, h.user_count);
        if (h.last_updown_change_s > 0)
            format_date(h.last_updown_change_s, changed, sizeof(changed));
        const char *row[] = {h.ip, h.tag, vhosts, h.down ? "down" : "up", changed, users};
        t = table_add(t, row);
    }
    return t;
}

static int print_user_status(struct doveadm_ctx *ctx, const struct director_user_status *us)
{
    char expires[32] = "-1";
    if (us->current_ip[0] != '\0')
        format_date(us->expire_s, expires, sizeof(expires));
    const char *current = us->current_ip[0] != '\0' ? us->current_ip : "n/a";
    if (ctx->format == FMT_TABLE) {
        /* doveadm's own lines when no formatter is chosen. */
        fprintf(ctx->out, "Current: %s (expires %s)\nHashed: %s\nInitial config: %s\n", current,
                expires, us->hashed_ip, us->initial_ip);
        return DOVEADM_EX_OK;
    }
    static const char *const titles[] = {"status", "expires", "hashed", "initial-config"};
    const char *row[] = {current, expires, us->hashed_ip, us->initial_ip};
    return doveadm__print(ctx, table_add(table_new(4, titles, 0), row));
}

static int status_user(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct doveadm_director_state st;
    int ex = doveadm_director_open(ctx, false, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    struct state_mark before;
    state_mark(st.d, &before);
    struct director_user_status us;
    const char *tag = args->argc > 1 ? args->argv[1] : "";
    enum director_result r = director_user_status(st.d, args->argv[0], tag, st.now_s, &us);
    if (r != DIRECTOR_OK)
        ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Lookup failed");
    if (ex == DOVEADM_EX_OK)
        ex = save_side_effects(ctx, &st, &before);
    if (ex == DOVEADM_EX_OK)
        ex = print_user_status(ctx, &us);
    doveadm_director_close(&st);
    return ex;
}

static int cmd_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    if (args->argc > 0)
        return status_user(ctx, args);
    struct doveadm_director_state st;
    int ex = doveadm_director_open(ctx, false, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    struct fmt_table *t = status_table(st.d);
    doveadm_director_close(&st);
    return doveadm__print(ctx, t);
}

/* The hash format doveadm uses: the director's when there is state (then
 * held open in st), else -o director_username_hash. */
static int hash_format(struct doveadm_ctx *ctx, struct doveadm_director_state *st, const char **fmt)
{
    bool exists = false;
    memset(st, 0, sizeof(*st));
    *fmt = ctx->director_hash;
    int rc = geodb_director_exists(ctx->db, &exists);
    if (rc != GEODB_OK)
        return doveadm__geodb(ctx, rc, "read director state");
    if (!exists)
        return DOVEADM_EX_OK;
    int ex = doveadm_director_open(ctx, false, NULL, st);
    if (ex == DOVEADM_EX_OK)
        *fmt = director_username_hash_format(st->d);
    return ex;
}

static int map_user_hash(struct doveadm_ctx *ctx, const char *user)
{
    struct doveadm_director_state st;
    const char *fmt;
    uint32_t hash = 0;
    int ex = hash_format(ctx, &st, &fmt);
    enum userhash_result r = USERHASH_OK;
    if (ex == DOVEADM_EX_OK)
        r = userhash_compute(fmt, user, &hash);
    doveadm_director_close(&st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (r != USERHASH_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s", userhash_result_text(r));
    static const char *const titles[] = {"hash"};
    char text[16];
    snprintf(text, sizeof(text), "%" PRIu32, hash);
    const char *row[] = {text};
    return doveadm__print(ctx, table_add(table_new(1, titles, FMT_COL_HIDE_TITLE), row));
}

static int map_hash_users(struct doveadm_ctx *ctx, const char *file, const char *hash_text)
{
    uint32_t hash;
    if (!parse_uint32(hash_text, &hash))
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Invalid username hash: %s", hash_text);
    struct doveadm_director_state st;
    struct names names;
    const char *fmt;
    int ex = hash_format(ctx, &st, &fmt);
    if (ex == DOVEADM_EX_OK)
        ex = names_load(ctx, file, fmt, &names);
    doveadm_director_close(&st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    static const char *const titles[] = {"user"};
    struct fmt_table *t = table_new(1, titles, FMT_COL_HIDE_TITLE);
    for (size_t i = names_find(&names, hash); i < names.n && names.v[i].hash == hash; i++) {
        const char *row[] = {names.v[i].name};
        t = table_add(t, row);
    }
    names_free(&names);
    return doveadm__print(ctx, t);
}

/* One USER-LIST entry: a row per known name with its hash, else one
 * "<unknown>" row. */
static struct fmt_table *map_rows(struct fmt_table *t, const struct names *names,
                                  const struct director_user_row *u)
{
    char hash[16], expire[32];
    snprintf(hash, sizeof(hash), "%" PRIu32, u->hash);
    format_date(u->expire_s, expire, sizeof(expire));
    size_t i = names_find(names, u->hash);
    if (i >= names->n || names->v[i].hash != u->hash) {
        const char *row[] = {"<unknown>", hash, u->ip, expire};
        return table_add(t, row);
    }
    for (; t != NULL && i < names->n && names->v[i].hash == u->hash; i++) {
        const char *row[] = {names->v[i].name, hash, u->ip, expire};
        t = table_add(t, row);
    }
    return t;
}

static int map_list(struct doveadm_ctx *ctx, const char *file, const char *host)
{
    char ip[DIRRING_IP_TEXT_SIZE] = "";
    int ex = host != NULL ? host_arg(ctx, host, ip) : DOVEADM_EX_OK;
    struct doveadm_director_state st;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_open(ctx, false, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    struct names names;
    ex = names_load(ctx, file, director_username_hash_format(st.d), &names);
    struct state_mark before;
    state_mark(st.d, &before);
    static const char *const titles[] = {"user", "hash", "mail server ip", "expire time"};
    struct fmt_table *t = ex == DOVEADM_EX_OK ? table_new(4, titles, FMT_COL_EXPAND) : NULL;
    struct director_user_iter it;
    struct director_user_row u;
    director_map_begin(st.d, st.now_s, &it);
    while (t != NULL && director_user_iter_next(st.d, &it, &u)) {
        if (ip[0] == '\0' || strcmp(u.ip, ip) == 0)
            t = map_rows(t, &names, &u);
    }
    names_free(&names);
    if (ex == DOVEADM_EX_OK)
        ex = save_side_effects(ctx, &st, &before);
    doveadm_director_close(&st);
    if (ex != DOVEADM_EX_OK) {
        fmt_table_free(t);
        return ex;
    }
    return doveadm__print(ctx, t);
}

static int cmd_map(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    bool by_hash = doveadm_opt(args, "-h") != NULL;
    bool by_user = doveadm_opt(args, "-u") != NULL;
    const char *file = doveadm_opt(args, "-f");
    if ((by_hash && by_user) || ((by_hash || by_user) && args->argc == 0))
        return doveadm__usage(ctx, args, "-h and -u take a hash or a user, not both");
    if (by_user)
        return map_user_hash(ctx, args->argv[0]);
    if (by_hash)
        return map_hash_users(ctx, file, args->argv[0]);
    return map_list(ctx, file, args->argc > 0 ? args->argv[0] : NULL);
}

/* dump with a formatter: the lines as command, socket, host, count. */
static struct fmt_table *dump_table(struct doveadm_ctx *ctx, const struct director *d)
{
    static const char *const titles[] = {"command", "socket-path", "host", "vhost_count"};
    struct fmt_table *t = table_new(4, titles, 0);
    char line[DUMP_LINE_SIZE];
    const char *add = "doveadm director add ", *rm = "doveadm director remove ";
    for (size_t i = 0; t != NULL && director_dump_line(d, i, line, sizeof(line)); i++) {
        bool is_add = strncmp(line, add, strlen(add)) == 0;
        char *host = line + strlen(is_add ? add : rm);
        char *sp = strchr(host, ' ');
        const char *count = "";
        if (sp != NULL) {
            *sp = '\0';
            count = sp + 1;
        }
        const char *row[] = {is_add ? "add" : "remove", geodb_path(ctx->db), host, count};
        t = table_add(t, row);
    }
    return t;
}

static int cmd_dump(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    struct doveadm_director_state st;
    int ex = doveadm_director_open(ctx, false, NULL, &st);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (ctx->format != FMT_TABLE) {
        struct fmt_table *t = dump_table(ctx, st.d);
        doveadm_director_close(&st);
        return doveadm__print(ctx, t);
    }
    char line[DUMP_LINE_SIZE];
    for (size_t i = 0; director_dump_line(st.d, i, line, sizeof(line)); i++)
        fprintf(ctx->out, "%s\n", line);
    doveadm_director_close(&st);
    return DOVEADM_EX_OK;
}

#define W DOVEADM_WRITE
#define R DOVEADM_READ

const struct doveadm_cmd doveadm_director_cmds[] = {
    {"director", "add", "[-t TAG] HOST[@TAG] [N]", "-t=", 1, 2, W, cmd_add},
    {"director", "update", "HOST N", "", 2, 2, W, cmd_update},
    {"director", "up", "HOST", "", 1, 1, W, cmd_up},
    {"director", "down", "HOST", "", 1, 1, W, cmd_down},
    {"director", "remove", "HOST", "", 1, 1, W, cmd_remove},
    {"director", "flush", "[-F] [--max-parallel N] HOST|all", "-F --max-parallel=", 1, 1, W,
     cmd_flush},
    {"director", "move", "USER HOST", "", 2, 2, W, cmd_move},
    {"director", "kick", "[-f FIELD] USER", "-f=", 1, 1, R, cmd_kick},
    {"director", "status", "[USER [TAG]]", "", 0, 2, R, cmd_status},
    {"director", "map", "[-f USERS-FILE] [-h HASH|-u USER] [HOST]", "-f= -h -u", 0, 1, R, cmd_map},
    {"director", "dump", "", "", 0, 0, R, cmd_dump},
};

const int doveadm_director_ncmds =
    (int)(sizeof(doveadm_director_cmds) / sizeof(doveadm_director_cmds[0]));
