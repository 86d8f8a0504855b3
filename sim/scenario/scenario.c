/*
 * The scenario loader (see scenario.h): jansson parses, jsonpos says where
 * each value is, and a walk over the document fills struct scenario while
 * checking every key and value against the schema in scenario.h. Anything
 * unknown or out of bounds is an error with file, line and column, because
 * a scenario that silently means something other than what its author wrote
 * is worse than one that does not load.
 */
#include "sim/scenario/scenario.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/settings.h"
#include "core/userhash.h"
#include "sim/base/argv.h"
#include "sim/base/isotime.h"
#include "sim/scenario/jsonpos.h"
#include "sim/base/names.h"
#include "sim/scenario/override.h"
#include "sim/scenario/params.h"

#define SCN_FILE_MAX (4 * 1024 * 1024)
#define NODE_PATH_SIZE 512
#define QUOTE_CHARS_MAX 48
#define SECOND_MS 1000LL
#define MINUTE_MS (60 * SECOND_MS)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
#define CLOCK_SKEW_MAX_MS HOUR_MS
#define REPLICATION_DELAY_MAX_MS HOUR_MS
#define SCRAPE_INTERVAL_MAX_MS HOUR_MS
#define SAMPLE_INTERVAL_MAX_MS DAY_MS
#define SESSION_MAX_MS (7 * DAY_MS)
#define USER_EXPIRE_MIN_MS (10 * SECOND_MS)
#define USER_EXPIRE_MAX_MS DAY_MS
#define PATTERN_WIDTH_MAX 32
#define GROUP_FIRST_MAX 999999999
#define HARDWARE_MAX 1e6
#define USER_SHARE_MAX 1e6
#define SLOW_MAX 1000.0
#define SPIKE_LOAD_MIN 0.01 /* a "spike" may also be a dip */
#define SPIKE_LOAD_MAX 100.0

/* A backend name already taken, and by which group (for the message). */
struct taken_name {
    char name[CLUSTER_NAME_SIZE];
    char owner[64];
};

struct loader {
    const char *file;
    struct jsonpos index;
    struct scenario *scn;
    char *err;
    size_t err_size;
    struct taken_name *backends; /* every backend name so far */
    int nbackends;
    int backends_capacity;
    /* --set overrides: their text, and the JSON Pointer of what each
     * replaced or created. A value at or under one of these pointers has
     * the position {-(k+1), 0} (override k) while loading, so messages
     * name the override instead of a place in the file. */
    int noverrides;
    const char *const *overrides;
    char (*override_ptrs)[OVERRIDE_PTR_SIZE];
};

/* A value in the document: the JSON, its pointer (for positions) and its
 * name as messages show it ("timeline[3].fault"; "" for the root). */
struct node {
    json_t *json;
    char ptr[NODE_PATH_SIZE];
    char name[NODE_PATH_SIZE];
    struct jsonpos_pos pos;     /* where the value starts */
    struct jsonpos_pos key_pos; /* where its key starts (= pos for non-members) */
};

/* ---- messages ---- */

/* text as a quoted, escaped, shortened one-line token. Room is checked at
 * the start of each character, so a UTF-8 sequence is never cut, and 16
 * bytes cover one escaped or 4-byte character, "...", the quote and NUL. */
static void quote(const char *text, char q, char *out, size_t size)
{
    assert(size >= 16);
    size_t n = 0, chars = 0;
    out[n++] = q;
    const unsigned char *p = (const unsigned char *)text;
    for (; *p != '\0'; p++) {
        bool lead = (*p & 0xC0) != 0x80;
        if (lead && (chars++ == QUOTE_CHARS_MAX || n + 16 > size))
            break;
        if (*p == (unsigned char)q || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    if (*p != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = q;
    out[n] = '\0';
}

/* What a value is, for "got ..." in messages. */
static void describe(const json_t *json, char *out, size_t size)
{
    if (json == NULL) {
        snprintf(out, size, "nothing");
    } else if (json_is_string(json)) {
        quote(json_string_value(json), '"', out, size);
    } else if (json_is_integer(json)) {
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(json));
    } else if (json_is_real(json)) {
        snprintf(out, size, "%.15g", json_real_value(json));
    } else if (json_is_object(json)) {
        snprintf(out, size, "an object");
    } else if (json_is_array(json)) {
        snprintf(out, size, "an array");
    } else {
        snprintf(out, size, "%s",
                 json_is_true(json)    ? "true"
                 : json_is_false(json) ? "false"
                                       : "null");
    }
}

static const char *where(const struct node *n)
{
    return n->name[0] != '\0' ? n->name : "the top level";
}

__attribute__((format(printf, 3, 0))) static int fail_va(struct loader *ld, struct jsonpos_pos pos,
                                                         const char *fmt, va_list ap)
{
    int n = pos.line < 0 ? snprintf(ld->err, ld->err_size, "--set %s: ", ld->overrides[-pos.line - 1])
                         : snprintf(ld->err, ld->err_size, "%s:%d:%d: ", ld->file, pos.line,
                                    pos.column);
    if (n >= 0 && (size_t)n < ld->err_size)
        vsnprintf(ld->err + n, ld->err_size - (size_t)n, fmt, ap);
    /* One line, whatever the file name or a value contained. */
    for (char *p = ld->err; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    }
    return -1;
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct loader *ld, struct jsonpos_pos pos,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_va(ld, pos, fmt, ap);
    va_end(ap);
    return -1;
}

/* "<name>: <message>" at the value. */
__attribute__((format(printf, 3, 4))) static int fail_node(struct loader *ld, const struct node *n,
                                                           const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fail_at(ld, n->pos, "%s: %s", where(n), text);
}

/* "<name>: expected <what>, got <value>" at the value. */
__attribute__((format(printf, 3, 4))) static int expected(struct loader *ld, const struct node *n,
                                                          const char *fmt, ...)
{
    char what[512], got[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    describe(n->json, got, sizeof(got));
    return fail_at(ld, n->pos, "%s: expected %s, got %s", where(n), what, got);
}

/* The override (index) that ptr is at or under; -1 when none. The last
 * override wins, as it was applied last. */
static int override_of(const struct loader *ld, const char *ptr)
{
    for (int k = ld->noverrides - 1; k >= 0; k--) {
        size_t len = strlen(ld->override_ptrs[k]);
        if (strncmp(ptr, ld->override_ptrs[k], len) == 0 && (ptr[len] == '\0' || ptr[len] == '/'))
            return k;
    }
    return -1;
}

/* A position as stored in struct scenario: an override's value keeps the
 * file position of what it replaced (0:0 when it replaced nothing) and
 * says which override it came from. */
static struct scn_pos stored_pos(const struct loader *ld, struct jsonpos_pos pos)
{
    if (pos.line >= 0)
        return (struct scn_pos){pos.line, pos.column, 0};
    int k = -pos.line - 1;
    struct jsonpos_pos at;
    if (jsonpos_value(&ld->index, ld->override_ptrs[k], &at) != 0)
        at = (struct jsonpos_pos){0, 0};
    return (struct scn_pos){at.line, at.column, k + 1};
}

/* The position of member key of parent (the parent's if not found). */
static struct jsonpos_pos key_pos_of(const struct loader *ld, const struct node *parent,
                                     const char *key)
{
    struct jsonpos_pos pos;
    char ptr[NODE_PATH_SIZE];
    int k = jsonpos_path_key(ptr, sizeof(ptr), parent->ptr, key) == 0 ? override_of(ld, ptr) : -1;
    if (k >= 0)
        return (struct jsonpos_pos){-(k + 1), 0};
    if (jsonpos_member_key(&ld->index, parent->ptr, key, &pos) != 0)
        return parent->pos;
    return pos;
}

static int fail_unknown(struct loader *ld, const struct node *parent, const char *key,
                        const char *expected_keys)
{
    char q[128];
    quote(key, '\'', q, sizeof(q));
    return fail_at(ld, key_pos_of(ld, parent, key), "unknown key %s in %s (expected %s)", q,
                   where(parent), expected_keys);
}

static int fail_missing(struct loader *ld, const struct node *n, const char *key)
{
    return fail_at(ld, n->pos, "%s: missing required key '%s'", where(n), key);
}

/* ---- walking the document ---- */

static void node_root(struct loader *ld, json_t *json, struct node *n)
{
    memset(n, 0, sizeof(*n));
    n->json = json;
    if (jsonpos_value(&ld->index, "", &n->pos) != 0)
        n->pos = (struct jsonpos_pos){1, 1};
    n->key_pos = n->pos;
}

/* Fills child from ptr and name; positions fall back to the parent's. */
static void node_locate(struct loader *ld, const struct node *parent, struct node *child,
                        bool ptr_ok, bool member)
{
    child->pos = parent->pos;
    child->key_pos = parent->pos;
    if (!ptr_ok) {
        child->ptr[0] = '\0';
        return;
    }
    int k = override_of(ld, child->ptr);
    if (k >= 0) {
        child->pos = child->key_pos = (struct jsonpos_pos){-(k + 1), 0};
        return;
    }
    if (jsonpos_value(&ld->index, child->ptr, &child->pos) != 0)
        child->pos = parent->pos;
    if (!member || jsonpos_key(&ld->index, child->ptr, &child->key_pos) != 0)
        child->key_pos = child->pos;
}

/* The member key of parent (false when absent). */
static bool node_member(struct loader *ld, const struct node *parent, const char *key,
                        struct node *child)
{
    json_t *json = json_object_get(parent->json, key);
    if (json == NULL)
        return false;
    child->json = json;
    bool ok = jsonpos_path_key(child->ptr, sizeof(child->ptr), parent->ptr, key) == 0;
    int w = parent->name[0] == '\0'
                ? snprintf(child->name, sizeof(child->name), "%s", key)
                : snprintf(child->name, sizeof(child->name), "%s.%s", parent->name, key);
    ok = ok && w > 0 && (size_t)w < sizeof(child->name);
    node_locate(ld, parent, child, ok, true);
    return true;
}

static void node_element(struct loader *ld, const struct node *parent, size_t i, struct node *child)
{
    child->json = json_array_get(parent->json, i);
    assert(child->json != NULL);
    bool ok = jsonpos_path_index(child->ptr, sizeof(child->ptr), parent->ptr, i) == 0;
    int w = snprintf(child->name, sizeof(child->name), "%s[%zu]", parent->name, i);
    ok = ok && w > 0 && (size_t)w < sizeof(child->name);
    node_locate(ld, parent, child, ok, false);
}

static bool word_in(const char *word, const char *const *words)
{
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(words[i], word) == 0)
            return true;
    }
    return false;
}

/* "one of: a, b, c" */
static void words_join(const char *const *words, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "one of: ");
    for (int i = 0; words[i] != NULL && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", i > 0 ? ", " : "", words[i]);
}

static int object_check(struct loader *ld, const struct node *n, const char *const *keys)
{
    if (!json_is_object(n->json))
        return expected(ld, n, "an object");
    const char *key;
    json_t *value;
    json_object_foreach(n->json, key, value)
    {
        if (!word_in(key, keys)) {
            char list[512];
            words_join(keys, list, sizeof(list));
            return fail_unknown(ld, n, key, list);
        }
    }
    return 0;
}

static int require(struct loader *ld, const struct node *n, const char *const *keys)
{
    for (int i = 0; keys[i] != NULL; i++) {
        if (json_object_get(n->json, keys[i]) == NULL)
            return fail_missing(ld, n, keys[i]);
    }
    return 0;
}

/* ---- typed values ---- */

enum text_rule {
    TEXT_ANY = 0,   /* any UTF-8 */
    TEXT_ONE_LINE,  /* no control characters */
    TEXT_PRINTABLE, /* printable ASCII only */
};

static bool text_obeys(const char *text, enum text_rule rule)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (rule == TEXT_PRINTABLE && (*p < 0x20 || *p > 0x7e))
            return false;
        if (rule == TEXT_ONE_LINE && (*p < 0x20 || *p == 0x7f))
            return false;
    }
    return true;
}

/* A string of min..max bytes obeying rule, copied to out; what describes it. */
static int get_text(struct loader *ld, const struct node *n, const char *what, size_t min,
                    size_t max, enum text_rule rule, char *out, size_t size)
{
    assert(max < size);
    if (!json_is_string(n->json))
        return expected(ld, n, "%s", what);
    const char *text = json_string_value(n->json);
    size_t len = strlen(text);
    if (len < min || len > max || len != json_string_length(n->json) || !text_obeys(text, rule))
        return expected(ld, n, "%s", what);
    memcpy(out, text, len + 1);
    return 0;
}

static int get_int(struct loader *ld, const struct node *n, int64_t lo, int64_t hi, int64_t *out)
{
    if (!json_is_integer(n->json) || json_integer_value(n->json) < lo ||
        json_integer_value(n->json) > hi)
        return expected(ld, n, "an integer %" PRId64 "..%" PRId64, lo, hi);
    *out = json_integer_value(n->json);
    return 0;
}

static int get_int32(struct loader *ld, const struct node *n, int lo, int hi, int *out)
{
    int64_t value = 0;
    if (get_int(ld, n, lo, hi, &value) != 0)
        return -1;
    *out = (int)value;
    return 0;
}

static int get_bool(struct loader *ld, const struct node *n, bool *out)
{
    if (!json_is_boolean(n->json))
        return expected(ld, n, "true or false");
    *out = json_is_true(n->json);
    return 0;
}

/* A number in lo..hi; lo itself excluded when lo_open. */
static int get_number(struct loader *ld, const struct node *n, double lo, bool lo_open, double hi,
                      double *out)
{
    double value = json_is_number(n->json) ? json_number_value(n->json) : 0;
    if (!json_is_number(n->json) || value < lo || (lo_open && value == lo) || value > hi) {
        if (lo_open)
            return expected(ld, n, "a number > %g and <= %g", lo, hi);
        return expected(ld, n, "a number %g..%g", lo, hi);
    }
    *out = value;
    return 0;
}

/* %.15g text with an exponent ("5e-05", "1e+20") rewritten without one
 * ("0.00005", "100000000000000000000"): the digits are the same, only the
 * decimal point moves, so the value is unchanged. */
static void decimal_plain(const char *text, char *out, size_t size)
{
    const char *e = strpbrk(text, "eE");
    if (e == NULL) {
        snprintf(out, size, "%s", text);
        return;
    }
    char digits[32];
    size_t n = 0, ndigits = 0;
    long point = -1; /* digits before the decimal point */
    bool negative = (text[0] == '-');
    for (const char *p = text + negative; p < e && ndigits < sizeof(digits); p++) {
        if (*p == '.')
            point = (long)ndigits;
        else
            digits[ndigits++] = *p;
    }
    if (point < 0)
        point = (long)ndigits;
    point += strtol(e + 1, NULL, 10);
    if (negative && n + 1 < size)
        out[n++] = '-';
    for (long i = (point > 0 ? 0 : point - 1); i < (long)ndigits && n + 1 < size; i++) {
        if (i == point)
            out[n++] = '.';
        if (n + 1 < size)
            out[n++] = i < 0 ? '0' : digits[i];
    }
    for (long i = (long)ndigits; i < point && n + 1 < size; i++)
        out[n++] = '0';
    out[n] = '\0';
}

/* The JSON number's text: integers as integers, reals with %.15g (written
 * without an exponent, as the settings parser reads plain decimals). */
static void number_text(const json_t *json, char *out, size_t size)
{
    char text[40];
    if (json_is_integer(json)) {
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(json));
        return;
    }
    snprintf(text, sizeof(text), "%.15g", json_real_value(json));
    decimal_plain(text, out, size);
}

static int get_ratio(struct loader *ld, const struct node *n, int64_t *out_ppm)
{
    char text[64];
    int64_t ppm;
    if (json_is_number(n->json)) {
        number_text(n->json, text, sizeof(text));
        if (settings_parse_ppm(text, &ppm) == 0 && ppm <= PPM) {
            *out_ppm = ppm;
            return 0;
        }
    }
    return expected(ld, n, "a number 0..1 (at most 6 decimals)");
}

/* ---- durations ---- */

struct duration_unit {
    const char *name;
    int64_t ms;
};

/* "ms" before "m", so that "500ms" is not read as 500 minutes and junk. */
static const struct duration_unit duration_units[] = {
    {"ms", 1}, {"d", DAY_MS}, {"h", HOUR_MS}, {"m", MINUTE_MS}, {"s", SECOND_MS},
};
#define DURATION_UNITS ((int)(sizeof(duration_units) / sizeof(duration_units[0])))

static int duration_unit_read(const char **p, int64_t *ms)
{
    for (int u = 0; u < DURATION_UNITS; u++) {
        size_t len = strlen(duration_units[u].name);
        if (strncmp(*p, duration_units[u].name, len) == 0) {
            *p += len;
            *ms = duration_units[u].ms;
            return 0;
        }
    }
    return -1;
}

int scenario_duration_parse(const char *text, int64_t *out_ms)
{
    assert(text != NULL && out_ms != NULL);
    const char *p = text;
    bool negative = (*p == '-');
    p += negative;
    if (*p == '\0')
        return -1;
    int64_t total = 0, last_unit = INT64_MAX;
    while (*p != '\0') {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 18)
            return -1;
        int64_t value = 0;
        for (size_t i = 0; i < digits; i++)
            value = value * 10 + (p[i] - '0');
        p += digits;
        int64_t unit;
        /* Larger units first, each once: "30m1h" and "1h1h" are typos. */
        if (duration_unit_read(&p, &unit) != 0 || unit >= last_unit)
            return -1;
        last_unit = unit;
        if (value > (INT64_MAX - total) / unit)
            return -1;
        total += value * unit;
    }
    *out_ms = negative ? -total : total;
    return 0;
}

void scenario_duration_format(int64_t ms, char *out, size_t size)
{
    static const struct duration_unit by_size[] = {
        {"d", DAY_MS}, {"h", HOUR_MS}, {"m", MINUTE_MS}, {"s", SECOND_MS}, {"ms", 1},
    };
    size_t n = 0;
    if (ms == 0) {
        snprintf(out, size, "0s");
        return;
    }
    out[0] = '\0';
    uint64_t rest = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0 && n + 1 < size)
        out[n++] = '-';
    for (int u = 0; u < DURATION_UNITS && n < size; u++) {
        uint64_t unit = (uint64_t)by_size[u].ms;
        if (rest / unit == 0)
            continue;
        int w = snprintf(out + n, size - n, "%" PRIu64 "%s", rest / unit, by_size[u].name);
        n += w > 0 ? (size_t)w : 0;
        rest %= unit;
    }
    out[n < size ? n : size - 1] = '\0';
}

static int get_duration(struct loader *ld, const struct node *n, int64_t lo, int64_t hi,
                        int64_t *out_ms)
{
    int64_t ms;
    if (!json_is_string(n->json) || scenario_duration_parse(json_string_value(n->json), &ms) != 0 ||
        ms < lo || ms > hi) {
        char lo_text[32], hi_text[32];
        scenario_duration_format(lo, lo_text, sizeof(lo_text));
        scenario_duration_format(hi, hi_text, sizeof(hi_text));
        return expected(ld, n, "a duration %s..%s (such as \"90s\" or \"1h30m\")", lo_text,
                        hi_text);
    }
    *out_ms = ms;
    return 0;
}

/* ---- name patterns ---- */

/* Where the one integer conversion of a pattern is, and how it pads. */
struct pattern {
    int nconv;
    size_t conv_at;  /* offset of its '%' */
    size_t conv_len; /* "%02d" is 4 */
    int width;
    bool zero;
};

/* Reads one "%..." at text[i] (i at the '%'): "%%", or "%[0][width](d|i|u)". */
static const char *pattern_conv(const char *text, size_t i, struct pattern *pat)
{
    size_t j = i + 1;
    if (text[j] == '%')
        return NULL;
    bool zero = (text[j] == '0');
    j += zero;
    int width = 0;
    for (; text[j] >= '0' && text[j] <= '9'; j++) {
        if (text[j] == '0' && width == 0)
            return "a width may not start with 0 after the 0 flag";
        width = width * 10 + (text[j] - '0');
        if (width > PATTERN_WIDTH_MAX)
            return "width larger than 32";
    }
    if (text[j] == '\0' || strchr("diu", text[j]) == NULL)
        return "only %d, %i or %u with an optional 0 flag and width, and %%, are allowed";
    if (pat->nconv++ > 0)
        return "more than one integer conversion";
    pat->conv_at = i;
    pat->conv_len = j + 1 - i;
    pat->width = width;
    pat->zero = zero;
    return NULL;
}

/* Returns NULL, or why text is not a pattern with at most one integer
 * conversion. */
static const char *pattern_parse(const char *text, struct pattern *pat)
{
    memset(pat, 0, sizeof(*pat));
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (text[i] != '%')
            continue;
        const char *why = pattern_conv(text, i, pat);
        if (why != NULL)
            return why;
        i += text[i + 1] == '%' ? 1 : pat->conv_len - 1;
    }
    return NULL;
}

/* number's decimal digits (no terminator); returns their count. By hand:
 * snprintf was most of formatting a name. */
static int decimal_format(int64_t number, char out[24])
{
    char rev[24];
    int n = 0;
    uint64_t v = number < 0 ? 0 - (uint64_t)number : (uint64_t)number;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    int len = 0;
    if (number < 0)
        out[len++] = '-';
    while (n > 0)
        out[len++] = rev[--n];
    return len;
}

/* Copies text[from, to) into out, "%%" as "%"; returns the length. */
static size_t unescape(const char *text, size_t from, size_t to, char *out)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        out[n++] = text[i];
        if (text[i] == '%')
            i++; /* "%%" */
    }
    out[n] = '\0';
    return n;
}

void scenario_name_format_init(struct scn_name_format *f, const char *pattern)
{
    memset(f, 0, sizeof(*f));
    struct pattern pat;
    size_t len = strnlen(pattern, SCN_PATTERN_SIZE - 1);
    if (pattern_parse(pattern, &pat) != NULL || pat.nconv != 1) {
        f->literal = true;
        memcpy(f->prefix, pattern, len);
        f->prefix_len = len;
        return;
    }
    f->zero = pat.zero;
    f->width = pat.width;
    f->prefix_len = unescape(pattern, 0, pat.conv_at, f->prefix);
    f->suffix_len = unescape(pattern, pat.conv_at + pat.conv_len, len, f->suffix);
}

/* Appends len bytes of text to out[*n], as far as size leaves room. */
static void out_text(char *out, size_t size, size_t *n, const char *text, size_t len)
{
    size_t room = size - 1 - *n;
    size_t k = len < room ? len : room;
    memcpy(out + *n, text, k);
    *n += k;
}

void scenario_name_format(const struct scn_name_format *f, int64_t number, char *out,
                          size_t size)
{
    assert(size > 0);
    size_t n = 0;
    out_text(out, size, &n, f->prefix, f->prefix_len);
    if (!f->literal) {
        char digits[24];
        int ndigits = decimal_format(number, digits);
        for (int pad = ndigits; pad < f->width; pad++)
            out_text(out, size, &n, f->zero ? "0" : " ", 1);
        out_text(out, size, &n, digits, (size_t)ndigits);
        out_text(out, size, &n, f->suffix, f->suffix_len);
    }
    out[n] = '\0';
}

/* Expands the pattern for number (no printf: the pattern is user data). */
static void pattern_format(const char *text, int64_t number, char *out, size_t size)
{
    struct scn_name_format f;
    scenario_name_format_init(&f, text);
    scenario_name_format(&f, number, out, size);
}

void scenario_backend_name(const struct scn_backend_group *group, int i, char *out, size_t size)
{
    assert(group != NULL && out != NULL && i >= 0);
    pattern_format(group->name, (int64_t)group->first + i, out, size);
}

void scenario_user_name(const struct scn_users *users, int64_t i, char *out, size_t size)
{
    assert(users != NULL && out != NULL && i >= 0);
    pattern_format(users->name, i, out, size);
}

/* ---- small sections: geodb, director, users, workload ---- */

static int load_geodb(struct loader *ld, const struct node *n)
{
    static const char *const keys[] = {"cluster_settings", "replication_delay", NULL};
    struct scenario *scn = ld->scn;
    struct node c;
    if (object_check(ld, n, keys) != 0)
        return -1;
    if (node_member(ld, n, "cluster_settings", &c) &&
        get_bool(ld, &c, &scn->cluster_settings_table) != 0)
        return -1;
    if (node_member(ld, n, "replication_delay", &c) &&
        get_duration(ld, &c, 0, REPLICATION_DELAY_MAX_MS, &scn->replication_delay_ms) != 0)
        return -1;
    return 0;
}

static int load_username_hash(struct loader *ld, const struct node *n, char *out, size_t size)
{
    char expansion[USERHASH_EXPANSION_MAX];
    size_t len;
    if (get_text(ld, n, "a non-empty director_username_hash format of at most 127 bytes", 1,
                 SCN_PATTERN_SIZE - 1, TEXT_ONE_LINE, out, size) != 0)
        return -1;
    enum userhash_result r =
        userhash_expand(out, "user0000001@example.com", expansion, sizeof(expansion), &len);
    if (r != USERHASH_OK)
        return expected(ld, n, "a director_username_hash format clustersim models (%s)",
                        userhash_result_text(r));
    return 0;
}

static int load_director(struct loader *ld, const struct node *n)
{
    static const char *const keys[] = {"username_hash", "user_expire", "dovemon", NULL};
    struct scn_director *d = &ld->scn->director;
    struct node c;
    if (object_check(ld, n, keys) != 0)
        return -1;
    if (node_member(ld, n, "username_hash", &c) &&
        load_username_hash(ld, &c, d->username_hash, sizeof(d->username_hash)) != 0)
        return -1;
    if (node_member(ld, n, "user_expire", &c) &&
        get_duration(ld, &c, USER_EXPIRE_MIN_MS, USER_EXPIRE_MAX_MS, &d->user_expire_ms) != 0)
        return -1;
    if (node_member(ld, n, "dovemon", &c) && get_bool(ld, &c, &d->dovemon) != 0)
        return -1;
    return 0;
}

static int load_activity(struct loader *ld, const struct node *n)
{
    static const char *const keys[] = {"distribution", "sigma", "alpha", NULL};
    static const char *const names[] = {"lognormal", "pareto", "uniform", NULL};
    struct scn_users *u = &ld->scn->users;
    struct node c;
    if (object_check(ld, n, keys) != 0)
        return -1;
    if (node_member(ld, n, "distribution", &c)) {
        int found = -1;
        for (int i = 0; names[i] != NULL && json_is_string(c.json); i++) {
            if (strcmp(names[i], json_string_value(c.json)) == 0)
                found = i;
        }
        if (found < 0)
            return expected(ld, &c, "\"lognormal\", \"pareto\" or \"uniform\"");
        u->distribution = (enum scn_activity)found;
    }
    /* A parameter of another distribution would silently do nothing. */
    if (node_member(ld, n, "sigma", &c)) {
        if (u->distribution != SCN_ACTIVITY_LOGNORMAL)
            return fail_node(ld, &c, "sigma only applies to the lognormal distribution");
        if (get_number(ld, &c, 0, false, 4, &u->sigma) != 0)
            return -1;
    }
    if (node_member(ld, n, "alpha", &c)) {
        if (u->distribution != SCN_ACTIVITY_PARETO)
            return fail_node(ld, &c, "alpha only applies to the pareto distribution");
        if (get_number(ld, &c, 1, true, 10, &u->alpha) != 0)
            return -1;
    }
    return 0;
}

/* The users pattern: one integer conversion, and valid usernames at both
 * ends of the index range (the longest is the last). */
static int load_user_pattern(struct loader *ld, const struct node *n, struct scn_users *u)
{
    char name[SCN_PATTERN_SIZE + PATTERN_WIDTH_MAX + 24];
    struct pattern pat;
    if (get_text(ld, n, "a username pattern of at most 127 bytes", 1, SCN_PATTERN_SIZE - 1,
                 TEXT_ANY, u->name, sizeof(u->name)) != 0)
        return -1;
    const char *why = pattern_parse(u->name, &pat);
    if (why == NULL && pat.nconv != 1)
        why = "no integer conversion such as %07d";
    if (why != NULL)
        return expected(ld, n, "a pattern with one integer conversion (%s)", why);
    for (int end = 0; end < 2; end++) {
        scenario_user_name(u, end == 0 ? 0 : u->count - 1, name, sizeof(name));
        const char *bad = names_check_user(name);
        if (bad != NULL)
            return expected(ld, n, "a pattern giving valid usernames ('%s': %s)", name, bad);
    }
    return 0;
}

static int load_users(struct loader *ld, const struct node *n)
{
    static const char *const keys[] = {"count", "name", "preplaced", "activity", NULL};
    static const char *const required[] = {"count", NULL};
    struct scn_users *u = &ld->scn->users;
    struct node c;
    if (object_check(ld, n, keys) != 0 || require(ld, n, required) != 0)
        return -1;
    if (node_member(ld, n, "count", &c) && get_int(ld, &c, 1, SCN_USERS_MAX, &u->count) != 0)
        return -1;
    if (node_member(ld, n, "name", &c) && load_user_pattern(ld, &c, u) != 0)
        return -1;
    if (node_member(ld, n, "preplaced", &c) && get_bool(ld, &c, &u->preplaced) != 0)
        return -1;
    if (node_member(ld, n, "activity", &c) && load_activity(ld, &c) != 0)
        return -1;
    return 0;
}

static int load_workload(struct loader *ld, const struct node *n)
{
    static const char *const keys[] = {
        "logins_per_user_day", "deliveries_per_user_day", "session_median", "session_sigma",
        "session_max",         "diurnal_amplitude",       "peak_hour",      NULL};
    struct scn_workload *w = &ld->scn->workload;
    struct node c;
    if (object_check(ld, n, keys) != 0)
        return -1;
    if ((node_member(ld, n, "logins_per_user_day", &c) &&
         get_number(ld, &c, 0, false, 10000, &w->logins_per_user_day) != 0) ||
        (node_member(ld, n, "deliveries_per_user_day", &c) &&
         get_number(ld, &c, 0, false, 10000, &w->deliveries_per_user_day) != 0) ||
        (node_member(ld, n, "session_median", &c) &&
         get_duration(ld, &c, 1, SESSION_MAX_MS, &w->session_median_ms) != 0) ||
        (node_member(ld, n, "session_sigma", &c) &&
         get_number(ld, &c, 0, false, 4, &w->session_sigma) != 0) ||
        (node_member(ld, n, "session_max", &c) &&
         get_duration(ld, &c, 1, SESSION_MAX_MS, &w->session_max_ms) != 0) ||
        (node_member(ld, n, "diurnal_amplitude", &c) &&
         get_number(ld, &c, 0, false, 1, &w->diurnal_amplitude) != 0) ||
        (node_member(ld, n, "peak_hour", &c) &&
         get_number(ld, &c, 0, false, 24, &w->peak_hour) != 0))
        return -1;
    if (w->session_max_ms < w->session_median_ms) {
        char max[32], median[32];
        scenario_duration_format(w->session_max_ms, max, sizeof(max));
        scenario_duration_format(w->session_median_ms, median, sizeof(median));
        const struct node *at = n;
        if (node_member(ld, n, "session_max", &c) || node_member(ld, n, "session_median", &c))
            at = &c;
        return fail_node(ld, at, "session_max (%s) is shorter than session_median (%s)", max,
                         median);
    }
    return 0;
}

/* ---- features and settings ---- */

static int load_features(struct loader *ld, const struct node *n)
{
    struct scenario *scn = ld->scn;
    const char *key;
    json_t *value;
    if (!json_is_object(n->json))
        return expected(ld, n, "an object");
    json_object_foreach(n->json, key, value)
    {
        int f = feature_parse(key);
        if (f < 0) {
            const char *names[FEATURE_COUNT + 1];
            char list[256];
            for (int i = 0; i < FEATURE_COUNT; i++)
                names[i] = feature_name((enum feature)i);
            names[FEATURE_COUNT] = NULL;
            words_join(names, list, sizeof(list));
            return fail_unknown(ld, n, key, list);
        }
        struct node c;
        node_member(ld, n, key, &c);
        int state = json_is_string(value) ? feature_state_parse(json_string_value(value)) : -1;
        if (state < 0)
            return expected(ld, &c, "\"on\", \"dryrun\" or \"off\"");
        scn->feature_set[f] = true;
        scn->features[f] = (enum feature_state)state;
    }
    return 0;
}

/* One "NAME": value; the value is checked by the settings table itself. */
static int load_setting(struct loader *ld, const struct node *n, const char *key,
                        struct ctl_settings *ctl, struct sim_params *sim)
{
    struct scenario *scn = ld->scn;
    if (!params_known(key))
        return fail_unknown(ld, n, key, "a setting name from the settings table in README.md");
    struct node c;
    node_member(ld, n, key, &c);
    if (scn->nsettings >= SCN_SETTINGS_MAX)
        return fail_at(ld, c.key_pos, "settings: more than %d settings", SCN_SETTINGS_MAX);
    struct scn_setting *s = &scn->settings[scn->nsettings];
    char text[400];
    if (json_is_number(c.json))
        number_text(c.json, text, sizeof(text));
    else if (json_is_string(c.json))
        snprintf(text, sizeof(text), "%s", json_string_value(c.json));
    else
        return expected(ld, &c, "a number or a string");
    if (strlen(text) >= sizeof(s->value))
        return expected(ld, &c, "a value of at most %zu characters", sizeof(s->value) - 1);
    char why[256];
    if (params_set(ctl, sim, key, text, why, sizeof(why)) != 0) {
        /* params_set names the setting itself: "NAME: expected ...". */
        size_t len = strlen(key);
        bool named = strncmp(why, key, len) == 0 && why[len] == ':';
        return fail_at(ld, c.pos, "settings.%s%s%s", named ? "" : key, named ? "" : ": ", why);
    }
    snprintf(s->name, sizeof(s->name), "%s", key);
    memcpy(s->value, text, strlen(text) + 1);
    s->pos = stored_pos(ld, c.pos);
    scn->nsettings++;
    return 0;
}

static int load_settings(struct loader *ld, const struct node *n)
{
    struct ctl_settings ctl;
    struct sim_params sim;
    const char *key;
    json_t *value;
    settings_defaults(ctl_settings_table, ctl_settings_count, &ctl);
    settings_defaults(sim_params_table, sim_params_count, &sim);
    if (!json_is_object(n->json))
        return expected(ld, n, "an object");
    json_object_foreach(n->json, key, value)
    {
        (void)value;
        if (load_setting(ld, n, key, &ctl, &sim) != 0)
            return -1;
    }
    return 0;
}

/* ---- sites and backends ---- */

static int site_find(const struct scenario *scn, const char *name, size_t len)
{
    for (int i = 0; i < scn->nsites; i++) {
        if (strlen(scn->sites[i].name) == len && memcmp(scn->sites[i].name, name, len) == 0)
            return i;
    }
    return -1;
}

/* A string naming one of the sites loaded so far; *out is its index. */
static int get_site_ref(struct loader *ld, const struct node *n, int *out)
{
    const struct scenario *scn = ld->scn;
    int i = json_is_string(n->json)
                ? site_find(scn, json_string_value(n->json), json_string_length(n->json))
                : -1;
    if (i < 0) {
        char list[CLUSTER_SITES_MAX * 70];
        size_t len = 0;
        for (int s = 0; s < scn->nsites && len < sizeof(list); s++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", s > 0 ? ", " : "",
                                    scn->sites[s].name);
        return expected(ld, n, "the name of a site of this scenario (%s)", list);
    }
    *out = i;
    return 0;
}

/* A string passing check (a names.h function); kind names it in messages. */
static int get_name(struct loader *ld, const struct node *n, const char *kind,
                    const char *(*check)(const char *), char *out, size_t size)
{
    if (!json_is_string(n->json))
        return expected(ld, n, "%s", kind);
    const char *text = json_string_value(n->json);
    const char *why = strlen(text) < size ? check(text) : "too long";
    if (why != NULL)
        return expected(ld, n, "%s (%s)", kind, why);
    snprintf(out, size, "%s", text);
    return 0;
}

/* Records a backend name; names are DNS names, so case does not matter. */
static int backend_take(struct loader *ld, const struct node *at, const char *name,
                        const char *owner)
{
    for (int i = 0; i < ld->nbackends; i++) {
        if (strcasecmp(ld->backends[i].name, name) == 0)
            return fail_node(ld, at, "backend '%s' is defined twice (also in %s)", name,
                             ld->backends[i].owner);
    }
    if (ld->nbackends == ld->backends_capacity) {
        int capacity = ld->backends_capacity == 0 ? 16 : ld->backends_capacity * 2;
        struct taken_name *grown = realloc(ld->backends, (size_t)capacity * sizeof(*grown));
        if (grown == NULL)
            return fail_node(ld, at, "out of memory");
        ld->backends = grown;
        ld->backends_capacity = capacity;
    }
    struct taken_name *t = &ld->backends[ld->nbackends++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    snprintf(t->owner, sizeof(t->owner), "%.60s", owner);
    return 0;
}

/* The group's name: a literal host name (count 1) or a pattern whose every
 * expansion is a valid host name not used elsewhere. */
static int load_group_name(struct loader *ld, const struct node *n, struct scn_backend_group *g,
                           bool list_form, const char *owner)
{
    struct pattern pat = {0};
    char name[SCN_PATTERN_SIZE + PATTERN_WIDTH_MAX + 24];
    if (get_text(ld, n, "a host name or pattern of at most 127 bytes", 1, SCN_PATTERN_SIZE - 1,
                 TEXT_ANY, g->name, sizeof(g->name)) != 0)
        return -1;
    const char *why = list_form ? NULL : pattern_parse(g->name, &pat);
    if (list_form && strchr(g->name, '%') != NULL)
        why = "list elements name one backend; patterns need the object form with count";
    if (why != NULL)
        return expected(ld, n, "a host name pattern with one integer conversion (%s)", why);
    if (!list_form && pat.nconv == 0 && g->count > 1)
        return expected(ld, n,
                        "a pattern with one integer conversion such as %%02d for %d "
                        "backends",
                        g->count);
    for (int i = 0; i < g->count; i++) {
        scenario_backend_name(g, i, name, sizeof(name));
        const char *bad = names_check_host(name);
        if (bad != NULL)
            return expected(ld, n, "a valid backend host name ('%s': %s)", name, bad);
        if (backend_take(ld, n, name, owner) != 0)
            return -1;
    }
    return 0;
}

static int load_group_status(struct loader *ld, const struct node *n, enum backend_status *out)
{
    int status = json_is_string(n->json) ? backend_status_parse(json_string_value(n->json)) : -1;
    if (status < 0)
        return expected(ld, n, "\"online\", \"offline\" or \"standby\"");
    *out = (enum backend_status)status;
    return 0;
}

/* One backend group; list_form: an element of a "backends" array. */
static int load_group(struct loader *ld, const struct node *n, struct scn_backend_group *g,
                      bool list_form)
{
    static const char *const object_keys[] = {"count",     "name",         "first",
                                              "status",    "load_factor",  "cpu_cores",
                                              "memory_gb", "metacache_gb", NULL};
    static const char *const list_keys[] = {"name",      "status",       "load_factor", "cpu_cores",
                                            "memory_gb", "metacache_gb", NULL};
    static const char *const required[] = {"name", NULL};
    struct node c;
    *g = (struct scn_backend_group){.count = 1,
                                    .first = 1,
                                    .status = BACKEND_ONLINE,
                                    .load_factor = 100,
                                    .cpu_cores = 16,
                                    .memory_gb = 64,
                                    .metacache_gb = 256,
                                    .pos = stored_pos(ld, n->pos)};
    if (object_check(ld, n, list_form ? list_keys : object_keys) != 0 ||
        require(ld, n, required) != 0)
        return -1;
    if (node_member(ld, n, "count", &c) &&
        get_int32(ld, &c, 1, CLUSTER_BACKENDS_MAX, &g->count) != 0)
        return -1;
    if (ld->nbackends + g->count > CLUSTER_BACKENDS_MAX)
        return fail_node(ld, n, "too many backends: %d in all, at most %d",
                         ld->nbackends + g->count, CLUSTER_BACKENDS_MAX);
    if (node_member(ld, n, "first", &c) && get_int32(ld, &c, 0, GROUP_FIRST_MAX, &g->first) != 0)
        return -1;
    if (node_member(ld, n, "name", &c) && load_group_name(ld, &c, g, list_form, n->name) != 0)
        return -1;
    if ((node_member(ld, n, "status", &c) && load_group_status(ld, &c, &g->status) != 0) ||
        (node_member(ld, n, "load_factor", &c) &&
         get_int32(ld, &c, 0, 100, &g->load_factor) != 0) ||
        (node_member(ld, n, "cpu_cores", &c) &&
         get_number(ld, &c, 0, true, HARDWARE_MAX, &g->cpu_cores) != 0) ||
        (node_member(ld, n, "memory_gb", &c) &&
         get_number(ld, &c, 0, true, HARDWARE_MAX, &g->memory_gb) != 0) ||
        (node_member(ld, n, "metacache_gb", &c) &&
         get_number(ld, &c, 0, true, HARDWARE_MAX, &g->metacache_gb) != 0))
        return -1;
    return 0;
}

static int load_backends(struct loader *ld, const struct node *n, struct scn_site *site)
{
    if (json_is_object(n->json)) {
        site->ngroups = 1;
        return load_group(ld, n, &site->groups[0], false);
    }
    size_t count = json_is_array(n->json) ? json_array_size(n->json) : 0;
    if (count == 0)
        return expected(ld, n, "an object or a non-empty array of objects");
    if (count > SCN_GROUPS_MAX)
        return expected(ld, n,
                        "at most %d backends in list form (use {\"count\": N, "
                        "\"name\": PATTERN} for more)",
                        SCN_GROUPS_MAX);
    for (size_t i = 0; i < count; i++) {
        struct node c;
        node_element(ld, n, i, &c);
        if (load_group(ld, &c, &site->groups[i], true) != 0)
            return -1;
        site->ngroups++;
    }
    return 0;
}

/* One [time, backends] point of a desired_backends curve. */
static int load_curve_point(struct loader *ld, const struct node *n, struct scn_site *site)
{
    struct node at, value;
    struct scn_curve_point *p = &site->curve[site->ncurve];
    if (!json_is_array(n->json) || json_array_size(n->json) != 2)
        return expected(ld, n, "a [time, backends] pair such as [\"6h\", 14]");
    node_element(ld, n, 0, &at);
    node_element(ld, n, 1, &value);
    if (get_duration(ld, &at, 0, ld->scn->duration_ms, &p->at_ms) != 0 ||
        get_int32(ld, &value, 0, CLUSTER_BACKENDS_MAX, &p->value) != 0)
        return -1;
    if (site->ncurve > 0 && p->at_ms <= site->curve[site->ncurve - 1].at_ms) {
        char prev[32];
        scenario_duration_format(site->curve[site->ncurve - 1].at_ms, prev, sizeof(prev));
        return expected(ld, &at, "a time after the previous point's %s", prev);
    }
    site->ncurve++;
    return 0;
}

static int load_curve(struct loader *ld, const struct node *n, struct scn_site *site)
{
    if (!json_is_array(n->json) || json_array_size(n->json) > SCN_CURVE_MAX)
        return expected(ld, n, "an array of at most %d [time, backends] pairs", SCN_CURVE_MAX);
    for (size_t i = 0; i < json_array_size(n->json); i++) {
        struct node c;
        node_element(ld, n, i, &c);
        if (load_curve_point(ld, &c, site) != 0)
            return -1;
    }
    return 0;
}

/* The load balancer, or the default derived from the site name, which must
 * be a valid host name too (a site called "DC_1" needs an explicit one). */
static int load_balancer(struct loader *ld, const struct node *n, struct scn_site *site)
{
    struct node c;
    if (node_member(ld, n, "load_balancer", &c))
        return get_name(ld, &c, "a host name or IP address", names_check_load_balancer,
                        site->load_balancer, sizeof(site->load_balancer));
    char lower[CLUSTER_NAME_SIZE];
    size_t i = 0;
    for (; site->name[i] != '\0' && i + 1 < sizeof(lower); i++)
        lower[i] = (char)((site->name[i] >= 'A' && site->name[i] <= 'Z') ? site->name[i] + 32
                                                                         : site->name[i]);
    lower[i] = '\0';
    snprintf(site->load_balancer, sizeof(site->load_balancer), "lb.%.*s.example.com", 200, lower);
    const char *why = names_check_load_balancer(site->load_balancer);
    if (why != NULL) {
        node_member(ld, n, "name", &c);
        return fail_node(ld, &c,
                         "the default load balancer '%s' is not a valid host name "
                         "(%s); set \"load_balancer\"",
                         site->load_balancer, why);
    }
    return 0;
}

static int load_site_name(struct loader *ld, const struct node *n, struct scn_site *site)
{
    struct node c;
    node_member(ld, n, "name", &c);
    if (get_name(ld, &c, "a site name", names_check_label, site->name, sizeof(site->name)) != 0)
        return -1;
    int other = site_find(ld->scn, site->name, strlen(site->name));
    if (other >= 0)
        return fail_node(ld, &c, "site '%s' is defined twice (also sites[%d])", site->name, other);
    return 0;
}

static int load_site_rest(struct loader *ld, const struct node *n, struct scn_site *site)
{
    struct node c;
    int status;
    if (node_member(ld, n, "status", &c)) {
        status = json_is_string(c.json) ? site_status_parse(json_string_value(c.json)) : -1;
        if (status < 0)
            return expected(ld, &c, "\"online\", \"offline\", \"standby\" or \"evacuate\"");
        site->status = (enum site_status)status;
    }
    site->user_share = 0;
    for (int g = 0; g < site->ngroups; g++)
        site->user_share += site->groups[g].count;
    if ((node_member(ld, n, "user_share", &c) &&
         get_number(ld, &c, 0, true, USER_SHARE_MAX, &site->user_share) != 0) ||
        (node_member(ld, n, "proxies", &c) && get_int32(ld, &c, 1, 64, &site->proxies) != 0) ||
        (node_member(ld, n, "desired_backends", &c) && load_curve(ld, &c, site) != 0) ||
        (node_member(ld, n, "clock_skew", &c) &&
         get_duration(ld, &c, -CLOCK_SKEW_MAX_MS, CLOCK_SKEW_MAX_MS, &site->clock_skew_ms) != 0))
        return -1;
    return 0;
}

static int load_site(struct loader *ld, const struct node *n, struct scn_site *site)
{
    static const char *const keys[] = {"name",       "tag",     "load_balancer", "status",
                                       "user_share", "proxies", "backends",      "desired_backends",
                                       "clock_skew", NULL};
    static const char *const required[] = {"name", NULL};
    struct node c;
    memset(site, 0, sizeof(*site));
    site->status = SITE_ONLINE;
    site->proxies = 2;
    site->pos = stored_pos(ld, n->pos);
    if (object_check(ld, n, keys) != 0 || require(ld, n, required) != 0 ||
        load_site_name(ld, n, site) != 0)
        return -1;
    if (node_member(ld, n, "tag", &c) &&
        get_name(ld, &c, "a tag name", names_check_label, site->tag, sizeof(site->tag)) != 0)
        return -1;
    if (load_balancer(ld, n, site) != 0)
        return -1;
    if (node_member(ld, n, "backends", &c) && load_backends(ld, &c, site) != 0)
        return -1;
    return load_site_rest(ld, n, site);
}

static int load_sites(struct loader *ld, const struct node *n)
{
    struct scenario *scn = ld->scn;
    size_t count = json_is_array(n->json) ? json_array_size(n->json) : 0;
    if (count == 0 || count > CLUSTER_SITES_MAX)
        return expected(ld, n, "an array of 1..%d sites", CLUSTER_SITES_MAX);
    double shares = 0;
    for (size_t i = 0; i < count; i++) {
        struct node c;
        node_element(ld, n, i, &c);
        /* nsites counts only finished sites, so site_find sees earlier ones. */
        if (load_site(ld, &c, &scn->sites[i]) != 0)
            return -1;
        scn->nsites++;
        shares += scn->sites[i].user_share;
    }
    if (shares <= 0)
        return fail_node(ld, n, "no site can take users: give a site backends or a user_share");
    return 0;
}

/* ---- timeline: faults ---- */

/* A fault's target: exactly one of "backend" and "site". */
static int load_fault_target(struct loader *ld, const struct node *n, struct scn_fault *f)
{
    struct node c;
    bool has_backend = json_object_get(n->json, "backend") != NULL;
    bool has_site = json_object_get(n->json, "site") != NULL;
    if (has_backend && has_site) {
        node_member(ld, n, "site", &c);
        return fail_at(ld, c.key_pos, "%s: set \"backend\" or \"site\", not both", where(n));
    }
    if (!has_backend && !has_site)
        return fail_missing(ld, n, "backend' or 'site");
    /* Backends added by timeline commands are unknown here: any host name. */
    if (node_member(ld, n, "backend", &c))
        return get_name(ld, &c, "a backend host name", names_check_host, f->backend,
                        sizeof(f->backend));
    int site;
    node_member(ld, n, "site", &c);
    if (get_site_ref(ld, &c, &site) != 0)
        return -1;
    snprintf(f->site, sizeof(f->site), "%s", ld->scn->sites[site].name);
    return 0;
}

/* "prometheus": "down" blinds the site's controller (its metrics source
 * does not answer); only a site has a Prometheus. */
static int load_prometheus(struct loader *ld, const struct node *n, struct scn_fault *f)
{
    const char *word = json_is_string(n->json) ? json_string_value(n->json) : "";
    if (f->site[0] == '\0')
        return fail_at(ld, n->key_pos, "%s: \"prometheus\" needs a \"site\" target", where(n));
    if (strcmp(word, "down") == 0)
        f->prometheus_down = 1;
    else if (strcmp(word, "up") == 0)
        f->prometheus_down = 0;
    else
        return expected(ld, n, "\"down\" or \"up\"");
    return 0;
}

/* "doveadm": "down": the backend's doveadm HTTP endpoint does not answer
 * (it still serves mail), so nobody can ask it to hand a user over. */
static int load_doveadm_fault(struct loader *ld, const struct node *n, struct scn_fault *f)
{
    const char *word = json_is_string(n->json) ? json_string_value(n->json) : "";
    if (strcmp(word, "down") == 0)
        f->doveadm_down = 1;
    else if (strcmp(word, "up") == 0)
        f->doveadm_down = 0;
    else
        return expected(ld, n, "\"down\" or \"up\"");
    return 0;
}

/* "clock_skew": "3s" steps the site's clock from then on (its writes'
 * timestamps); "recover" puts back the skew the site started with. */
static int load_skew_fault(struct loader *ld, const struct node *n, struct scn_fault *f)
{
    if (f->site[0] == '\0')
        return fail_at(ld, n->key_pos, "%s: \"clock_skew\" needs a \"site\" target", where(n));
    if (get_duration(ld, n, -CLOCK_SKEW_MAX_MS, CLOCK_SKEW_MAX_MS, &f->clock_skew_ms) != 0)
        return -1;
    f->skew_set = true;
    return 0;
}

static int load_fault(struct loader *ld, const struct node *n, struct scn_fault *f)
{
    static const char *const keys[] = {
        "backend", "site", "recover", "login_failure_ratio", "delivery_failure_ratio",
        "crash",   "slow", "prometheus", "doveadm", "clock_skew", NULL};
    struct node c;
    bool crash = false;
    *f = (struct scn_fault){
        .login_failure_ppm = -1, .delivery_failure_ppm = -1, .crash = -1, .prometheus_down = -1,
        .doveadm_down = -1};
    if (object_check(ld, n, keys) != 0 || load_fault_target(ld, n, f) != 0)
        return -1;
    if ((node_member(ld, n, "recover", &c) && get_bool(ld, &c, &f->recover) != 0) ||
        (node_member(ld, n, "login_failure_ratio", &c) &&
         get_ratio(ld, &c, &f->login_failure_ppm) != 0) ||
        (node_member(ld, n, "delivery_failure_ratio", &c) &&
         get_ratio(ld, &c, &f->delivery_failure_ppm) != 0) ||
        (node_member(ld, n, "crash", &c) && get_bool(ld, &c, &crash) != 0) ||
        (node_member(ld, n, "slow", &c) && get_number(ld, &c, 1, false, SLOW_MAX, &f->slow) != 0))
        return -1;
    if (node_member(ld, n, "crash", &c))
        f->crash = crash ? 1 : 0;
    if (node_member(ld, n, "prometheus", &c) && load_prometheus(ld, &c, f) != 0)
        return -1;
    if (node_member(ld, n, "doveadm", &c) && load_doveadm_fault(ld, &c, f) != 0)
        return -1;
    if (node_member(ld, n, "clock_skew", &c) && load_skew_fault(ld, &c, f) != 0)
        return -1;
    if (!f->recover && f->login_failure_ppm < 0 && f->delivery_failure_ppm < 0 && f->crash < 0 &&
        f->slow == 0 && f->prometheus_down < 0 && f->doveadm_down < 0 && !f->skew_set)
        return fail_node(ld, n,
                         "nothing to do: set recover, login_failure_ratio, "
                         "delivery_failure_ratio, crash, slow, prometheus, doveadm or clock_skew");
    return 0;
}

/* ---- timeline: partitions ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One '|'-separated group of site names, text[0..len). */
static int partition_group(struct loader *ld, const struct node *n, const char *text, size_t len,
                           struct scn_entry *e)
{
    int members = 0;
    size_t i = 0;
    while (i < len) {
        if (is_blank(text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && !is_blank(text[i]))
            i++;
        int site = site_find(ld->scn, text + start, i - start);
        if (site < 0)
            return fail_node(ld, n, "unknown site '%.*s'", (int)(i - start > 64 ? 64 : i - start),
                             text + start);
        if (e->group_of_site[site] >= 0)
            return fail_node(ld, n, "site '%s' is listed twice", ld->scn->sites[site].name);
        e->group_of_site[site] = e->ngroups;
        members++;
    }
    if (members == 0)
        return fail_node(ld, n, "empty group (groups are site names separated by '|')");
    e->ngroups++;
    return 0;
}

static int load_partition(struct loader *ld, const struct node *n, struct scn_entry *e)
{
    const struct scenario *scn = ld->scn;
    if (!json_is_string(n->json) || !text_obeys(json_string_value(n->json), TEXT_ONE_LINE))
        return expected(ld, n, "site groups separated by '|' such as \"DC1 | DC2 DC3\"");
    for (int s = 0; s < CLUSTER_SITES_MAX; s++)
        e->group_of_site[s] = -1;
    const char *p = json_string_value(n->json);
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (partition_group(ld, n, p, len, e) != 0)
            return -1;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    if (e->ngroups < 2)
        return fail_node(ld, n, "a partition needs at least two groups separated by '|'");
    for (int s = 0; s < scn->nsites; s++) {
        if (e->group_of_site[s] < 0)
            return fail_node(ld, n, "site '%s' is in no group (every site must be listed once)",
                             scn->sites[s].name);
    }
    for (int s = scn->nsites; s < CLUSTER_SITES_MAX; s++)
        e->group_of_site[s] = 0;
    return 0;
}

/* ---- timeline: expectations ---- */

static const char *const subject_words[] = {"the cluster", "a site", "a backend"};

/* "a site or a backend": the subjects a metric applies to. */
static void subjects_text(unsigned bits, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int s = 0; s <= EXPECT_BACKEND && n < size; s++) {
        if ((bits & EXPECT_SUBJECT_BIT(s)) == 0)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%s%s", n > 0 ? " or " : "", subject_words[s]);
    }
}

/* Whether key is the filter key of some metric ("reason", "event"). */
static bool is_filter_key(const char *key)
{
    for (int m = 0; m < EM_COUNT; m++) {
        if (expect_metrics[m].filter != NULL && strcmp(expect_metrics[m].filter, key) == 0)
            return true;
    }
    return false;
}

static int fail_expect_key(struct loader *ld, const struct node *n, const char *key)
{
    char list[1024];
    size_t len = (size_t)snprintf(list, sizeof(list), "backend, site, a filter key (");
    for (int m = 0, first = 1; m < EM_COUNT; m++) {
        const char *f = expect_metrics[m].filter;
        bool seen = false;
        for (int k = 0; k < m && f != NULL; k++)
            seen = seen || (expect_metrics[k].filter && strcmp(expect_metrics[k].filter, f) == 0);
        if (f != NULL && !seen && len < sizeof(list)) {
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", first ? "" : ", ", f);
            first = 0;
        }
    }
    if (len < sizeof(list))
        len += (size_t)snprintf(list + len, sizeof(list) - len,
                                ") or an assertion <metric>, <metric>_min, <metric>_max with "
                                "<metric> one of:");
    for (int m = 0; m < EM_COUNT && len < sizeof(list); m++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, " %s%s%s", expect_metrics[m].name,
                                expect_metrics[m].text ? " (no _min/_max)" : "",
                                m + 1 < EM_COUNT ? "," : "");
    return fail_unknown(ld, n, key, list);
}

/* The subject of an expectation: "backend", "site" or neither. */
static int load_expect_subject(struct loader *ld, const struct node *n, struct scn_expect *x)
{
    struct node c;
    bool has_backend = json_object_get(n->json, "backend") != NULL;
    if (has_backend && json_object_get(n->json, "site") != NULL) {
        node_member(ld, n, "site", &c);
        return fail_at(ld, c.key_pos, "%s: set \"backend\" or \"site\", not both", where(n));
    }
    x->subject = EXPECT_CLUSTER;
    if (node_member(ld, n, "backend", &c)) {
        x->subject = EXPECT_BACKEND;
        return get_name(ld, &c, "a backend host name", names_check_host, x->name, sizeof(x->name));
    }
    if (node_member(ld, n, "site", &c)) {
        int site;
        if (get_site_ref(ld, &c, &site) != 0)
            return -1;
        x->subject = EXPECT_SITE;
        snprintf(x->name, sizeof(x->name), "%s", ld->scn->sites[site].name);
    }
    return 0;
}

static int load_check_value(struct loader *ld, const struct node *c, const struct scn_expect *x,
                            struct scn_check *k)
{
    const struct expect_metric_def *def = &expect_metrics[k->metric];
    if (!def->text) {
        if (!json_is_number(c->json) || json_number_value(c->json) < 0)
            return expected(ld, c, "a number >= 0");
        k->value = json_number_value(c->json);
        return 0;
    }
    /* The only text metric is a status; its words depend on the subject,
     * and in director mode a backend is a director host. */
    const char *word = json_is_string(c->json) ? json_string_value(c->json) : "";
    bool site = x->subject == EXPECT_SITE;
    if (!site && ld->scn->mode == SCN_DIRECTOR) {
        if (strcmp(word, "up") != 0 && strcmp(word, "down") != 0 && strcmp(word, "absent") != 0)
            return expected(ld, c, "\"up\", \"down\" or \"absent\" (a director host)");
        snprintf(k->text, sizeof(k->text), "%s", word);
        return 0;
    }
    int status = site ? site_status_parse(word) : backend_status_parse(word);
    if (status < 0 || strlen(word) >= sizeof(k->text))
        return expected(ld, c, "%s",
                        site ? "\"online\", \"offline\", \"standby\" or \"evacuate\""
                             : "\"online\", \"offline\" or \"standby\"");
    snprintf(k->text, sizeof(k->text), "%s", word);
    return 0;
}

/* One assertion key ("users_max": 100). */
static int load_check(struct loader *ld, const struct node *n, const char *key,
                      struct scn_expect *x)
{
    struct node c;
    int metric, cmp;
    if (expect_key_parse(key, &metric, &cmp) != 0)
        return fail_expect_key(ld, n, key);
    node_member(ld, n, key, &c);
    if (x->nchecks >= SCN_CHECKS_MAX)
        return fail_at(ld, c.key_pos, "%s: more than %d assertions", where(n), SCN_CHECKS_MAX);
    const struct expect_metric_def *def = &expect_metrics[metric];
    if ((def->subjects & EXPECT_SUBJECT_BIT(x->subject)) == 0) {
        char allowed[64];
        subjects_text(def->subjects, allowed, sizeof(allowed));
        return fail_at(ld, c.key_pos, "%s: %s applies to %s, not to %s", c.name, def->name, allowed,
                       subject_words[x->subject]);
    }
    struct scn_check *k = &x->checks[x->nchecks];
    *k =
        (struct scn_check){.metric = metric, .cmp = cmp, .pos = stored_pos(ld, c.key_pos)};
    if (load_check_value(ld, &c, x, k) != 0)
        return -1;
    x->nchecks++;
    return 0;
}

/* The filter key: a word such as a move reason, used by some check. */
static int load_expect_filter(struct loader *ld, const struct node *n, const char *key,
                              struct scn_expect *x)
{
    struct node c;
    node_member(ld, n, key, &c);
    if (x->filter[0] != '\0')
        return fail_at(ld, c.key_pos, "%s: at most one filter key", where(n));
    bool used = false;
    for (int i = 0; i < x->nchecks; i++) {
        const char *f = expect_metrics[x->checks[i].metric].filter;
        used = used || (f != NULL && strcmp(f, key) == 0);
    }
    if (!used)
        return fail_at(ld, c.key_pos, "%s: no assertion here uses a metric filtered by '%s'",
                       c.name, key);
    return get_name(ld, &c, "a word of at most 31 characters", names_check_label, x->filter,
                    sizeof(x->filter));
}

static int load_expect(struct loader *ld, const struct node *n, struct scn_expect *x)
{
    const char *key;
    json_t *value;
    memset(x, 0, sizeof(*x));
    if (!json_is_object(n->json))
        return expected(ld, n, "an object");
    if (load_expect_subject(ld, n, x) != 0)
        return -1;
    json_object_foreach(n->json, key, value)
    {
        (void)value;
        if (strcmp(key, "backend") == 0 || strcmp(key, "site") == 0 || is_filter_key(key))
            continue;
        if (load_check(ld, n, key, x) != 0)
            return -1;
    }
    if (x->nchecks == 0)
        return fail_node(ld, n, "no assertion (such as \"users_max\": 1000)");
    json_object_foreach(n->json, key, value)
    {
        if (is_filter_key(key) && load_expect_filter(ld, n, key, x) != 0)
            return -1;
    }
    return 0;
}

/* ---- timeline entries ---- */

static const char *const entry_kinds[] = {"doveadm", "fault",      "expect", "partition", "heal",
                                          "note",    "controller", "spike",  NULL};

/* The keys an entry of each kind may have, in enum scn_entry_kind order. */
static const char *const *const entry_keys[] = {
    (const char *const[]){"at", "doveadm", "site", "expect_rc", NULL},
    (const char *const[]){"at", "fault", NULL},
    (const char *const[]){"at", "expect", "desc", NULL},
    (const char *const[]){"at", "partition", NULL},
    (const char *const[]){"at", "heal", NULL},
    (const char *const[]){"at", "note", NULL},
    (const char *const[]){"at", "controller", "site", "backend", "percent", NULL},
    (const char *const[]){"at", "spike", NULL},
};

/* Which action the entry is: exactly one of entry_kinds. */
static int entry_kind(struct loader *ld, const struct node *n, enum scn_entry_kind *out)
{
    int found = -1;
    for (int k = 0; entry_kinds[k] != NULL; k++) {
        if (json_object_get(n->json, entry_kinds[k]) == NULL)
            continue;
        if (found >= 0) {
            struct node c;
            node_member(ld, n, entry_kinds[k], &c);
            return fail_at(ld, c.key_pos, "%s: '%s' and '%s' in one entry (one action each)",
                           where(n), entry_kinds[found], entry_kinds[k]);
        }
        found = k;
    }
    if (found < 0)
        return fail_node(ld, n,
                         "no action (expected one of: doveadm, fault, expect, "
                         "partition, heal, note, controller, spike)");
    *out = (enum scn_entry_kind)found;
    return 0;
}

static int load_at(struct loader *ld, const struct node *n, int64_t *out_ms)
{
    if (json_is_string(n->json) && strcmp(json_string_value(n->json), "end") == 0) {
        *out_ms = SCN_AT_END;
        return 0;
    }
    int64_t ms;
    if (!json_is_string(n->json) || scenario_duration_parse(json_string_value(n->json), &ms) != 0 ||
        ms < 0 || ms > ld->scn->duration_ms) {
        char hi[32];
        scenario_duration_format(ld->scn->duration_ms, hi, sizeof(hi));
        return expected(ld, n, "a duration 0s..%s (the scenario's duration) or \"end\"", hi);
    }
    *out_ms = ms;
    return 0;
}

static int load_doveadm(struct loader *ld, const struct node *n, struct scn_entry *e)
{
    struct node c;
    struct argv_buf words;
    char why[128];
    node_member(ld, n, "doveadm", &c);
    if (get_text(ld, &c, "a doveadm command line of at most 1023 bytes", 1, SCN_TEXT_SIZE - 1,
                 TEXT_ONE_LINE, e->text, sizeof(e->text)) != 0)
        return -1;
    if (argv_split(e->text, &words, why, sizeof(why)) != 0)
        return expected(ld, &c, "a command line that splits into words (%s)", why);
    if (words.argc == 0)
        return expected(ld, &c, "a doveadm command such as \"cluster site list\"");
    if (node_member(ld, n, "site", &c)) {
        int site;
        if (get_site_ref(ld, &c, &site) != 0)
            return -1;
        snprintf(e->site, sizeof(e->site), "%s", ld->scn->sites[site].name);
    }
    if (node_member(ld, n, "expect_rc", &c) && get_int32(ld, &c, 0, 255, &e->expect_rc) != 0)
        return -1;
    return 0;
}

/* {"controller": "rebalance", "site": S} or {"controller": "force-move",
 * "backend": B, "percent": 1..100}: the backend is named as in faults (it
 * may be added by a command before the entry runs). */
static int load_controller(struct loader *ld, const struct node *n, struct scn_entry *e)
{
    struct node c;
    node_member(ld, n, "controller", &c);
    const char *word = json_is_string(c.json) ? json_string_value(c.json) : "";
    bool force = strcmp(word, "force-move") == 0;
    if (!force && strcmp(word, "rebalance") != 0)
        return expected(ld, &c, "\"rebalance\" or \"force-move\"");
    e->ctl_action = force ? SCN_CTL_FORCE_MOVE : SCN_CTL_REBALANCE;
    if (node_member(ld, n, "site", &c)) {
        int site;
        if (force)
            return fail_at(ld, c.key_pos, "%s: a force-move acts on its backend's site", where(n));
        if (get_site_ref(ld, &c, &site) != 0)
            return -1;
        snprintf(e->site, sizeof(e->site), "%s", ld->scn->sites[site].name);
    }
    bool has_backend = node_member(ld, n, "backend", &c);
    if (has_backend != force)
        return has_backend ? fail_at(ld, c.key_pos, "%s: \"backend\" is for force-move", where(n))
                           : fail_node(ld, n, "a force-move needs \"backend\" and \"percent\"");
    if (has_backend && get_text(ld, &c, "a backend name", 1, CLUSTER_NAME_SIZE - 1,
                                TEXT_ONE_LINE, e->backend, sizeof(e->backend)) != 0)
        return -1;
    bool has_pct = node_member(ld, n, "percent", &c);
    if (has_pct != force)
        return has_pct ? fail_at(ld, c.key_pos, "%s: \"percent\" is for force-move", where(n))
                       : fail_node(ld, n, "a force-move needs \"backend\" and \"percent\"");
    return has_pct ? get_int32(ld, &c, 1, 100, &e->ctl_percent) : 0;
}

/* {"spike": {"load": 3, "replication_delay": "2m", "for": "20m"}}: at
 * least one of load and replication_delay; "for" is required, so that a
 * spike always ends by itself. */
static int load_spike(struct loader *ld, const struct node *n, int64_t at_ms,
                      struct scn_spike *sp)
{
    static const char *const keys[] = {"load", "replication_delay", "for", NULL};
    static const char *const required[] = {"for", NULL};
    struct node c;
    *sp = (struct scn_spike){.load = 0, .repl_delay_ms = -1, .for_ms = 0};
    if (!json_is_object(n->json))
        return expected(ld, n, "an object with \"for\" and \"load\" or \"replication_delay\"");
    if (object_check(ld, n, keys) != 0 || require(ld, n, required) != 0)
        return -1;
    if (at_ms == SCN_AT_END)
        return fail_node(ld, n, "a spike at \"end\" would never run (give it a time)");
    if ((node_member(ld, n, "load", &c) &&
         get_number(ld, &c, SPIKE_LOAD_MIN, false, SPIKE_LOAD_MAX, &sp->load) != 0) ||
        (node_member(ld, n, "replication_delay", &c) &&
         get_duration(ld, &c, 0, REPLICATION_DELAY_MAX_MS, &sp->repl_delay_ms) != 0))
        return -1;
    node_member(ld, n, "for", &c);
    if (get_duration(ld, &c, 1, SCN_DURATION_MAX_MS, &sp->for_ms) != 0)
        return -1;
    if (sp->load == 0 && sp->repl_delay_ms < 0)
        return fail_node(ld, n, "nothing to do: set load or replication_delay");
    return 0;
}

static int load_action(struct loader *ld, const struct node *n, struct scn_entry *e)
{
    struct node c;
    node_member(ld, n, entry_kinds[e->kind], &c);
    switch (e->kind) {
    case SCN_DOVEADM:
        return load_doveadm(ld, n, e);
    case SCN_FAULT:
        return load_fault(ld, &c, &e->fault);
    case SCN_EXPECT:
        if (load_expect(ld, &c, &e->expect) != 0)
            return -1;
        if (node_member(ld, n, "desc", &c))
            return get_text(ld, &c, "a one-line description of at most 1023 bytes", 0,
                            SCN_TEXT_SIZE - 1, TEXT_ONE_LINE, e->text, sizeof(e->text));
        return 0;
    case SCN_PARTITION:
        return load_partition(ld, &c, e);
    case SCN_HEAL:
        return json_is_true(c.json) ? 0 : expected(ld, &c, "true");
    case SCN_NOTE:
        return get_text(ld, &c, "a one-line note of 1..1023 bytes", 1, SCN_TEXT_SIZE - 1,
                        TEXT_ONE_LINE, e->text, sizeof(e->text));
    case SCN_CONTROLLER:
        return load_controller(ld, n, e);
    case SCN_SPIKE:
        return load_spike(ld, &c, e->at_ms, &e->spike);
    }
    assert(0);
    return -1;
}

static int load_entry(struct loader *ld, const struct node *n, struct scn_entry *e)
{
    static const char *const required[] = {"at", NULL};
    struct node c;
    e->pos = stored_pos(ld, n->pos);
    if (!json_is_object(n->json))
        return expected(ld, n, "an object");
    if (entry_kind(ld, n, &e->kind) != 0 || object_check(ld, n, entry_keys[e->kind]) != 0 ||
        require(ld, n, required) != 0)
        return -1;
    node_member(ld, n, "at", &c);
    if (load_at(ld, &c, &e->at_ms) != 0)
        return -1;
    return load_action(ld, n, e);
}

static int load_timeline(struct loader *ld, const struct node *n)
{
    struct scenario *scn = ld->scn;
    if (!json_is_array(n->json) || json_array_size(n->json) > SCN_TIMELINE_MAX)
        return expected(ld, n, "an array of at most %d entries", SCN_TIMELINE_MAX);
    size_t count = json_array_size(n->json);
    if (count == 0)
        return 0;
    scn->entries = calloc(count, sizeof(*scn->entries));
    if (scn->entries == NULL)
        return fail_node(ld, n, "out of memory");
    for (size_t i = 0; i < count; i++) {
        struct node c;
        node_element(ld, n, i, &c);
        if (load_entry(ld, &c, &scn->entries[i]) != 0)
            return -1;
        scn->nentries++;
    }
    return 0;
}

/* ---- the top level ---- */

static int load_seed(struct loader *ld, const struct node *n)
{
    /* json_int_t is 64-bit, so every JSON integer jansson accepts fits. */
    if (!json_is_integer(n->json) || json_integer_value(n->json) < 0)
        return expected(ld, n, "an integer 0..9223372036854775807");
    ld->scn->seed = (uint64_t)json_integer_value(n->json);
    return 0;
}

static int load_mode(struct loader *ld, const struct node *n)
{
    const char *word = json_is_string(n->json) ? json_string_value(n->json) : "";
    if (strcmp(word, "palomar") == 0)
        ld->scn->mode = SCN_PALOMAR;
    else if (strcmp(word, "director") == 0)
        ld->scn->mode = SCN_DIRECTOR;
    else
        return expected(ld, n, "\"palomar\" or \"director\"");
    return 0;
}

/* "start": the wall-clock date-time of t = 0, for the reports' dates. */
static int load_start(struct loader *ld, const struct node *n)
{
    const char *text = json_is_string(n->json) ? json_string_value(n->json) : "";
    if (isotime_parse(text, &ld->scn->start_s) != 0)
        return expected(ld, n, "an ISO 8601 date-time from %d to %d with Z or an offset, "
                               "like \"2026-03-02T08:00:00Z\"",
                        ISOTIME_YEAR_MIN, ISOTIME_YEAR_MAX);
    return 0;
}

static int load_intervals(struct loader *ld, const struct node *root)
{
    struct scenario *scn = ld->scn;
    struct node scrape, sample;
    bool has_scrape = node_member(ld, root, "scrape_interval", &scrape);
    bool has_sample = node_member(ld, root, "sample_interval", &sample);
    if (has_scrape &&
        get_duration(ld, &scrape, SECOND_MS, SCRAPE_INTERVAL_MAX_MS, &scn->scrape_interval_ms) != 0)
        return -1;
    if (has_sample &&
        get_duration(ld, &sample, SECOND_MS, SAMPLE_INTERVAL_MAX_MS, &scn->sample_interval_ms) != 0)
        return -1;
    const struct node *at = has_sample ? &sample : has_scrape ? &scrape : root;
    char sample_text[32], scrape_text[32];
    scenario_duration_format(scn->sample_interval_ms, sample_text, sizeof(sample_text));
    scenario_duration_format(scn->scrape_interval_ms, scrape_text, sizeof(scrape_text));
    if (scn->sample_interval_ms < scn->scrape_interval_ms)
        return fail_node(ld, at, "sample_interval (%s) is shorter than scrape_interval (%s)",
                         sample_text, scrape_text);
    if (scn->sample_interval_ms % scn->scrape_interval_ms != 0)
        return fail_node(ld, at, "sample_interval (%s) must be a multiple of scrape_interval (%s)",
                         sample_text, scrape_text);
    return 0;
}

/* name, description, seed, duration, mode, start: the scalars of the top level. */
static int load_head(struct loader *ld, const struct node *root)
{
    struct scenario *scn = ld->scn;
    struct node c;
    node_member(ld, root, "name", &c);
    if (get_text(ld, &c, "a name of 1..127 printable ASCII characters", 1, sizeof(scn->name) - 1,
                 TEXT_PRINTABLE, scn->name, sizeof(scn->name)) != 0)
        return -1;
    if (node_member(ld, root, "description", &c) &&
        get_text(ld, &c, "a description of at most 1023 bytes", 0, SCN_TEXT_SIZE - 1, TEXT_ANY,
                 scn->description, sizeof(scn->description)) != 0)
        return -1;
    if (node_member(ld, root, "seed", &c) && load_seed(ld, &c) != 0)
        return -1;
    node_member(ld, root, "duration", &c);
    if (get_duration(ld, &c, 1, SCN_DURATION_MAX_MS, &scn->duration_ms) != 0)
        return -1;
    if (node_member(ld, root, "mode", &c) && load_mode(ld, &c) != 0)
        return -1;
    if (node_member(ld, root, "start", &c) && load_start(ld, &c) != 0)
        return -1;
    return load_intervals(ld, root);
}

/* What director mode cannot run: it models one standalone director, which
 * serves one site, and no controller or GeoDB replication. */
static int check_director_mode(struct loader *ld, const struct node *root)
{
    const struct scenario *scn = ld->scn;
    struct node c;
    if (scn->mode != SCN_DIRECTOR)
        return 0;
    node_member(ld, root, "mode", &c);
    if (scn->nsites != 1)
        return fail_node(ld, &c, "director mode models one director, which serves one site: "
                                 "give exactly one site (got %d)", scn->nsites);
    if (node_member(ld, root, "features", &c))
        return fail_node(ld, &c, "features: director mode runs no Cluster Controller");
    for (int i = 0; i < scn->nentries; i++) {
        const struct scn_entry *e = &scn->entries[i];
        if (e->kind == SCN_PARTITION || e->kind == SCN_HEAL)
            return fail_at(ld,
                           e->pos.override ? (struct jsonpos_pos){-e->pos.override, 0}
                                           : (struct jsonpos_pos){e->pos.line, e->pos.column},
                           "timeline[%d]: director mode has one site, nothing to partition", i);
    }
    return 0;
}

static int load_root(struct loader *ld, const struct node *root)
{
    static const char *const keys[] = {"name",
                                       "description",
                                       "seed",
                                       "duration",
                                       "mode",
                                       "start",
                                       "sample_interval",
                                       "scrape_interval",
                                       "geodb",
                                       "sites",
                                       "users",
                                       "workload",
                                       "director",
                                       "features",
                                       "settings",
                                       "timeline",
                                       NULL};
    static const char *const required[] = {"name", "duration", "sites", "users", NULL};
    struct node c;
    if (object_check(ld, root, keys) != 0 || require(ld, root, required) != 0 ||
        load_head(ld, root) != 0)
        return -1;
    if (node_member(ld, root, "geodb", &c) && load_geodb(ld, &c) != 0)
        return -1;
    node_member(ld, root, "sites", &c);
    if (load_sites(ld, &c) != 0)
        return -1;
    node_member(ld, root, "users", &c);
    if (load_users(ld, &c) != 0)
        return -1;
    if ((node_member(ld, root, "workload", &c) && load_workload(ld, &c) != 0) ||
        (node_member(ld, root, "director", &c) && load_director(ld, &c) != 0) ||
        (node_member(ld, root, "features", &c) && load_features(ld, &c) != 0) ||
        (node_member(ld, root, "settings", &c) && load_settings(ld, &c) != 0) ||
        (node_member(ld, root, "timeline", &c) && load_timeline(ld, &c) != 0))
        return -1;
    return check_director_mode(ld, root);
}

static void scenario_defaults(struct scenario *scn)
{
    memset(scn, 0, sizeof(*scn));
    scn->seed = 1;
    scn->start_s = SCN_START_DEFAULT_S;
    scn->mode = SCN_PALOMAR;
    scn->sample_interval_ms = 60 * SECOND_MS;
    scn->scrape_interval_ms = 15 * SECOND_MS;
    scn->cluster_settings_table = true;
    scn->replication_delay_ms = 200;
    scn->users = (struct scn_users){.name = "user%07d@example.com",
                                    .preplaced = true,
                                    .distribution = SCN_ACTIVITY_LOGNORMAL,
                                    .sigma = 1.0,
                                    .alpha = 1.5};
    scn->workload = (struct scn_workload){.logins_per_user_day = 6,
                                          .deliveries_per_user_day = 12,
                                          .session_median_ms = 20 * MINUTE_MS,
                                          .session_sigma = 1.0,
                                          .session_max_ms = 8 * HOUR_MS,
                                          .diurnal_amplitude = 0.5,
                                          .peak_hour = 14};
    scn->director = (struct scn_director){.username_hash = USERHASH_DEFAULT_FORMAT,
                                          .user_expire_ms = 15 * MINUTE_MS,
                                          .dovemon = true};
}

/* ---- files ---- */

/* Reads all of f into a buffer that grows as needed, up to one byte more
 * than SCN_FILE_MAX (so a larger file is noticed). Returns 0, or errno, or
 * ENOMEM. */
static int stream_read(FILE *f, char **out, size_t *out_len)
{
    char *text = NULL;
    size_t len = 0, capacity = 0;
    while (len <= SCN_FILE_MAX) {
        if (len == capacity) {
            capacity = capacity == 0 ? 65536 : capacity * 2;
            if (capacity > (size_t)SCN_FILE_MAX + 1)
                capacity = (size_t)SCN_FILE_MAX + 1;
            char *grown = realloc(text, capacity);
            if (grown == NULL) {
                free(text);
                return ENOMEM;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, capacity - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        int error = errno != 0 ? errno : EIO;
        free(text);
        return error;
    }
    *out = text;
    *out_len = len;
    return 0;
}

/* Reads the whole file, refusing more than SCN_FILE_MAX bytes. */
static int file_read(struct loader *ld, char **out, size_t *out_len)
{
    FILE *f = fopen(ld->file, "rb");
    if (f == NULL) {
        snprintf(ld->err, ld->err_size, "%s: cannot open: %s", ld->file, strerror(errno));
        return -1;
    }
    errno = 0;
    int error = stream_read(f, out, out_len);
    fclose(f);
    if (error != 0) {
        snprintf(ld->err, ld->err_size, "%s: cannot read: %s", ld->file, strerror(error));
        return -1;
    }
    if (*out_len > SCN_FILE_MAX) {
        snprintf(ld->err, ld->err_size, "%s: larger than %d MiB", ld->file,
                 SCN_FILE_MAX / (1024 * 1024));
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* jansson's own message for a syntax error, in our FILE:LINE:COLUMN form. */
static int parse(struct loader *ld, const char *text, size_t len, json_t **out)
{
    json_error_t error;
    /* A fixed hash seed: otherwise jansson reads /dev/urandom, and nothing in
     * a run may depend on anything but the scenario and its seed. */
    json_object_seed(1);
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (*out == NULL) {
        struct jsonpos_pos pos = {error.line < 1 ? 1 : error.line,
                                  error.column < 1 ? 1 : error.column};
        return fail_at(ld, pos, "%s", error.text);
    }
    if (jsonpos_build(text, len, &ld->index) != 0) {
        json_decref(*out);
        *out = NULL;
        return fail_at(ld, ld->index.error_pos, "%s", ld->index.error);
    }
    return 0;
}

/* Applies the overrides to the parsed document, recording where each is. */
static int apply_overrides(struct loader *ld, json_t *json)
{
    if (ld->noverrides == 0)
        return 0;
    ld->override_ptrs = calloc((size_t)ld->noverrides, sizeof(*ld->override_ptrs));
    if (ld->override_ptrs == NULL) {
        snprintf(ld->err, ld->err_size, "%s: out of memory", ld->file);
        return -1;
    }
    for (int k = 0; k < ld->noverrides; k++) {
        char why[512];
        if (override_apply(json, ld->overrides[k], ld->override_ptrs[k], OVERRIDE_PTR_SIZE, why,
                           sizeof(why)) != 0) {
            snprintf(ld->err, ld->err_size, "--set %s: %s", ld->overrides[k], why);
            return -1;
        }
    }
    return 0;
}

/* Parses text (len bytes, read from ld->file), applies the overrides and
 * validates the result. */
static int load_text(struct loader *ld, const char *text, size_t len)
{
    json_t *json = NULL;
    int rc = parse(ld, text, len, &json);
    if (rc == 0)
        rc = apply_overrides(ld, json);
    if (rc == 0) {
        struct node root;
        node_root(ld, json, &root);
        rc = load_root(ld, &root);
    }
    json_decref(json);
    jsonpos_free(&ld->index);
    free(ld->backends);
    ld->backends = NULL;
    free(ld->override_ptrs);
    ld->override_ptrs = NULL;
    return rc;
}

int scenario_load_with(const char *path, const char *const *overrides, int noverrides,
                       struct scenario *out, char *err, size_t err_size)
{
    assert(path != NULL && out != NULL && err != NULL && err_size > 0);
    assert(noverrides == 0 || overrides != NULL);
    struct loader ld = {.file = path,
                        .scn = out,
                        .err = err,
                        .err_size = err_size,
                        .noverrides = noverrides,
                        .overrides = overrides};
    char *text = NULL;
    size_t len = 0;
    err[0] = '\0';
    scenario_defaults(out);
    snprintf(out->path, sizeof(out->path), "%s", path);
    out->noverrides = noverrides;
    out->overrides = overrides;
    int rc = file_read(&ld, &text, &len);
    if (rc == 0)
        rc = load_text(&ld, text, len);
    free(text);
    if (rc != 0)
        scenario_free(out);
    return rc;
}

int scenario_load(const char *path, struct scenario *out, char *err, size_t err_size)
{
    return scenario_load_with(path, NULL, 0, out, err, err_size);
}

int scenario_load_buffer(const char *name, const char *text, size_t len, struct scenario *out,
                         char *err, size_t err_size)
{
    assert(name != NULL && text != NULL && out != NULL && err != NULL && err_size > 0);
    struct loader ld = {.file = name, .scn = out, .err = err, .err_size = err_size};
    err[0] = '\0';
    scenario_defaults(out);
    snprintf(out->path, sizeof(out->path), "%s", name);
    int rc = 0;
    if (len > SCN_FILE_MAX) {
        snprintf(err, err_size, "%s: larger than %d MiB", name, SCN_FILE_MAX / (1024 * 1024));
        rc = -1;
    }
    if (rc == 0)
        rc = load_text(&ld, text, len);
    if (rc != 0)
        scenario_free(out);
    return rc;
}

void scenario_where(const struct scenario *scn, struct scn_pos pos, char *out, size_t size)
{
    if (pos.override > 0 && pos.override <= scn->noverrides)
        snprintf(out, size, "--set %s", scn->overrides[pos.override - 1]);
    else
        snprintf(out, size, "%s:%d:%d", scn->path, pos.line, pos.column);
}

void scenario_free(struct scenario *scn)
{
    if (scn == NULL)
        return;
    free(scn->entries);
    scn->entries = NULL;
    scn->nentries = 0;
}
