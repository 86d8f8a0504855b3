/*
 * A second, position-keeping pass over JSON text that jansson has accepted.
 * Each value becomes one entry (parent entry, key or array index, where the
 * value and its key start); entries are then sorted by (parent, key or
 * index) so a path is resolved one segment at a time by binary search.
 * Decoded keys need at most as many bytes as their quoted text, so one
 * buffer of the document's size holds all of them and never moves.
 * The scanner still checks every byte it relies on: it must fail cleanly,
 * not read out of bounds, if handed text jansson would have refused.
 */
#include "sim/scenario/jsonpos.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jsonpos_entry {
    int32_t id;      /* creation order; the root is 0 */
    int32_t parent;  /* id of the containing value, -1 for the root */
    const char *key; /* decoded member key, NULL for array elements and the root */
    int64_t index;   /* array index of an element */
    char type;       /* '{', '[' or 'v' for any scalar */
    struct jsonpos_pos value;
    struct jsonpos_pos key_pos;
};

struct scan {
    const char *text;
    size_t len;
    size_t at;
    int line;
    int column; /* characters already consumed on this line */
    struct jsonpos *index;
    int capacity;
    size_t keys_used;
};

static int scan_fail(struct scan *s, const char *why)
{
    s->index->error_pos = (struct jsonpos_pos){s->line, s->column + 1};
    snprintf(s->index->error, sizeof(s->index->error), "%s", why);
    return -1;
}

static int peek(const struct scan *s)
{
    return s->at < s->len ? (unsigned char)s->text[s->at] : -1;
}

/* Consumes one byte, counting columns as jansson does: a newline starts a
 * new line, and UTF-8 continuation bytes belong to the character before. */
static void advance(struct scan *s)
{
    assert(s->at < s->len);
    unsigned char c = (unsigned char)s->text[s->at++];
    if (c == '\n') {
        s->line++;
        s->column = 0;
    } else if ((c & 0xC0) != 0x80) {
        s->column++;
    }
}

static void skip_blanks(struct scan *s)
{
    for (int c = peek(s); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(s))
        advance(s);
}

static struct jsonpos_pos here(const struct scan *s)
{
    return (struct jsonpos_pos){s->line, s->column + 1};
}

static int entry_add(struct scan *s, int32_t parent, struct jsonpos_entry **out)
{
    struct jsonpos *index = s->index;
    if (index->count >= JSONPOS_ENTRIES_MAX)
        return scan_fail(s, "too many values to index");
    if (index->count == s->capacity) {
        int capacity = s->capacity == 0 ? 256 : s->capacity * 2;
        struct jsonpos_entry *grown = realloc(index->entries, (size_t)capacity * sizeof(*grown));
        if (grown == NULL)
            return scan_fail(s, "out of memory");
        index->entries = grown;
        s->capacity = capacity;
    }
    struct jsonpos_entry *e = &index->entries[index->count];
    memset(e, 0, sizeof(*e));
    e->id = index->count++;
    e->parent = parent;
    *out = e;
    return 0;
}

static int hex4(struct scan *s, unsigned *out)
{
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(s);
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0)
            return scan_fail(s, "bad \\u escape");
        value = value * 16 + (unsigned)digit;
        advance(s);
    }
    *out = value;
    return 0;
}

/* After "\u": one code point, combining a surrogate pair. */
static int unicode_escape(struct scan *s, unsigned *out)
{
    unsigned cp;
    if (hex4(s, &cp) != 0)
        return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return scan_fail(s, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned low;
        if (peek(s) != '\\')
            return scan_fail(s, "lone high surrogate");
        advance(s);
        if (peek(s) != 'u')
            return scan_fail(s, "lone high surrogate");
        advance(s);
        if (hex4(s, &low) != 0)
            return -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return scan_fail(s, "bad surrogate pair");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp == 0)
        return scan_fail(s, "\\u0000 in a key");
    *out = cp;
    return 0;
}

static int key_put(struct scan *s, char *buf, size_t *n, unsigned cp)
{
    unsigned char tmp[4];
    size_t len;
    if (cp < 0x80) {
        tmp[0] = (unsigned char)cp;
        len = 1;
    } else if (cp < 0x800) {
        tmp[0] = (unsigned char)(0xC0 | (cp >> 6));
        tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
        len = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (unsigned char)(0xE0 | (cp >> 12));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
        len = 3;
    } else {
        tmp[0] = (unsigned char)(0xF0 | (cp >> 18));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (unsigned char)(0x80 | (cp & 0x3F));
        len = 4;
    }
    /* Never true for valid JSON (see the top of the file); checked anyway. */
    if (s->keys_used + *n + len + 1 > s->len + 1)
        return scan_fail(s, "key buffer exhausted");
    memcpy(buf + *n, tmp, len);
    *n += len;
    return 0;
}

static unsigned simple_escape(int c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '/':
        return '/';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

/* At the opening quote of a key: decodes it into the key buffer. */
static int key_read(struct scan *s, const char **out)
{
    char *buf = s->index->keys + s->keys_used;
    size_t n = 0;
    advance(s);
    for (;;) {
        int c = peek(s);
        if (c < 0)
            return scan_fail(s, "unterminated key");
        advance(s);
        if (c == '"')
            break;
        unsigned cp = (unsigned)c;
        if (c == '\\') {
            int e = peek(s);
            if (e < 0)
                return scan_fail(s, "unterminated key");
            advance(s);
            if (e == 'u') {
                if (unicode_escape(s, &cp) != 0)
                    return -1;
            } else if ((cp = simple_escape(e)) == 0) {
                return scan_fail(s, "bad escape in a key");
            }
            if (key_put(s, buf, &n, cp) != 0)
                return -1;
            continue;
        }
        /* A raw byte, possibly part of a UTF-8 sequence: copied as is. */
        if (s->keys_used + n + 2 > s->len + 1)
            return scan_fail(s, "key buffer exhausted");
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    s->keys_used += n + 1;
    *out = buf;
    return 0;
}

static int string_skip(struct scan *s)
{
    advance(s);
    for (;;) {
        int c = peek(s);
        if (c < 0)
            return scan_fail(s, "unterminated string");
        advance(s);
        if (c == '"')
            return 0;
        if (c == '\\') {
            if (peek(s) < 0)
                return scan_fail(s, "unterminated string");
            advance(s);
        }
    }
}

/* Numbers, true, false, null: jansson has checked the spelling. */
static int scalar_skip(struct scan *s)
{
    size_t start = s->at;
    for (int c = peek(s); c >= 0 && (strchr("+-.", c) != NULL || (c >= '0' && c <= '9') ||
                                     (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
         c = peek(s))
        advance(s);
    return s->at > start ? 0 : scan_fail(s, "unexpected character");
}

static int value_scan(struct scan *s, struct jsonpos_entry *e, int depth);

/* The value after a key or at an array position: a new entry, then its
 * contents. e's fields are copied before recursing, as entries may move. */
static int child_scan(struct scan *s, int32_t parent, const char *key, int64_t i,
                      struct jsonpos_pos key_pos, int depth)
{
    struct jsonpos_entry *e;
    if (entry_add(s, parent, &e) != 0)
        return -1;
    e->key = key;
    e->index = i;
    e->key_pos = key_pos;
    return value_scan(s, e, depth);
}

static int object_scan(struct scan *s, int32_t id, int depth)
{
    advance(s);
    skip_blanks(s);
    if (peek(s) == '}') {
        advance(s);
        return 0;
    }
    for (;;) {
        skip_blanks(s);
        if (peek(s) != '"')
            return scan_fail(s, "expected a key");
        struct jsonpos_pos key_pos = here(s);
        const char *key;
        if (key_read(s, &key) != 0)
            return -1;
        skip_blanks(s);
        if (peek(s) != ':')
            return scan_fail(s, "expected ':'");
        advance(s);
        if (child_scan(s, id, key, 0, key_pos, depth + 1) != 0)
            return -1;
        skip_blanks(s);
        int c = peek(s);
        if (c < 0 || (c != ',' && c != '}'))
            return scan_fail(s, "expected ',' or '}'");
        advance(s);
        if (c == '}')
            return 0;
    }
}

static int array_scan(struct scan *s, int32_t id, int depth)
{
    advance(s);
    skip_blanks(s);
    if (peek(s) == ']') {
        advance(s);
        return 0;
    }
    for (int64_t i = 0;; i++) {
        if (child_scan(s, id, NULL, i, (struct jsonpos_pos){0, 0}, depth + 1) != 0)
            return -1;
        skip_blanks(s);
        int c = peek(s);
        if (c < 0 || (c != ',' && c != ']'))
            return scan_fail(s, "expected ',' or ']'");
        advance(s);
        if (c == ']')
            return 0;
    }
}

static int value_scan(struct scan *s, struct jsonpos_entry *e, int depth)
{
    if (depth > JSONPOS_DEPTH_MAX)
        return scan_fail(s, "nested too deeply to index");
    skip_blanks(s);
    e->value = here(s);
    int32_t id = e->id;
    int c = peek(s);
    e->type = (c == '{' || c == '[') ? (char)c : 'v';
    if (c == '{')
        return object_scan(s, id, depth);
    if (c == '[')
        return array_scan(s, id, depth);
    if (c == '"')
        return string_skip(s);
    return scalar_skip(s);
}

/* Order of entries: by parent, then array index, then key bytes. */
static int entry_order(int32_t parent_a, const char *key_a, int64_t index_a,
                       const struct jsonpos_entry *b)
{
    if (parent_a != b->parent)
        return parent_a < b->parent ? -1 : 1;
    if ((key_a == NULL) != (b->key == NULL))
        return key_a == NULL ? -1 : 1;
    if (key_a == NULL)
        return index_a < b->index ? -1 : index_a > b->index;
    return strcmp(key_a, b->key);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct jsonpos_entry *ea = a;
    return entry_order(ea->parent, ea->key, ea->index, b);
}

int jsonpos_build(const char *text, size_t len, struct jsonpos *index)
{
    assert(text != NULL && index != NULL);
    memset(index, 0, sizeof(*index));
    struct scan s = {.text = text, .len = len, .line = 1, .index = index};
    index->keys = malloc(len + 1);
    if (index->keys == NULL) {
        scan_fail(&s, "out of memory");
        return -1;
    }
    struct jsonpos_entry *root;
    if (entry_add(&s, -1, &root) != 0 || value_scan(&s, root, 0) != 0) {
        struct jsonpos_pos pos = index->error_pos;
        char why[JSONPOS_ERROR_SIZE];
        memcpy(why, index->error, sizeof(why));
        jsonpos_free(index);
        index->error_pos = pos;
        memcpy(index->error, why, sizeof(why));
        return -1;
    }
    qsort(index->entries, (size_t)index->count, sizeof(*index->entries), entry_cmp);
    return 0;
}

void jsonpos_free(struct jsonpos *index)
{
    if (index == NULL)
        return;
    free(index->entries);
    free(index->keys);
    memset(index, 0, sizeof(*index));
}

/* Compares the decoded JSON Pointer segment seg[0..len) with key, in
 * strcmp order. Returns 2 for a malformed '~' escape. */
static int segment_cmp(const char *seg, size_t len, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++, k++) {
        unsigned char c = (unsigned char)seg[i];
        if (c == '~') {
            if (i + 1 >= len || (seg[i + 1] != '0' && seg[i + 1] != '1'))
                return 2;
            c = seg[++i] == '0' ? '~' : '/';
        }
        unsigned char kc = (unsigned char)key[k];
        if (c != kc)
            return c < kc ? -1 : 1;
    }
    return key[k] == '\0' ? 0 : -1;
}

/* An array index segment: "0" or digits without a leading zero. */
static int segment_index(const char *seg, size_t len, int64_t *out)
{
    if (len == 0 || len > 9 || (len > 1 && seg[0] == '0'))
        return -1;
    int64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            return -1;
        value = value * 10 + (seg[i] - '0');
    }
    *out = value;
    return 0;
}

/* The child of parent named by one segment, by binary search. */
static const struct jsonpos_entry *child_find(const struct jsonpos *index,
                                              const struct jsonpos_entry *parent, const char *seg,
                                              size_t len)
{
    int64_t i = 0;
    if (parent->type == '[' && segment_index(seg, len, &i) != 0)
        return NULL;
    if (parent->type != '[' && parent->type != '{')
        return NULL;
    int lo = 0, hi = index->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const struct jsonpos_entry *e = &index->entries[mid];
        int c;
        if (e->parent != parent->id)
            c = parent->id < e->parent ? -1 : 1;
        else if (parent->type == '[')
            c = entry_order(parent->id, NULL, i, e);
        else if (e->key == NULL)
            c = 1;
        else if ((c = segment_cmp(seg, len, e->key)) == 2)
            return NULL;
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const struct jsonpos_entry *entry_find(const struct jsonpos *index, const char *path)
{
    assert(index != NULL && path != NULL);
    if (index->count == 0)
        return NULL;
    const struct jsonpos_entry *e = &index->entries[0];
    assert(e->parent == -1);
    const char *p = path;
    while (*p != '\0' && e != NULL) {
        if (*p != '/')
            return NULL;
        p++;
        size_t len = strcspn(p, "/");
        e = child_find(index, e, p, len);
        p += len;
    }
    return e;
}

int jsonpos_value(const struct jsonpos *index, const char *path, struct jsonpos_pos *pos)
{
    const struct jsonpos_entry *e = entry_find(index, path);
    if (e == NULL)
        return -1;
    *pos = e->value;
    return 0;
}

int jsonpos_key(const struct jsonpos *index, const char *path, struct jsonpos_pos *pos)
{
    const struct jsonpos_entry *e = entry_find(index, path);
    if (e == NULL || e->key == NULL)
        return -1;
    *pos = e->key_pos;
    return 0;
}

int jsonpos_member_key(const struct jsonpos *index, const char *path, const char *key,
                       struct jsonpos_pos *pos)
{
    assert(key != NULL);
    const struct jsonpos_entry *parent = entry_find(index, path);
    if (parent == NULL || parent->type != '{')
        return -1;
    int lo = 0, hi = index->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = entry_order(parent->id, key, 0, &index->entries[mid]);
        if (c == 0) {
            *pos = index->entries[mid].key_pos;
            return 0;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int jsonpos_path_key(char *out, size_t size, const char *parent, const char *key)
{
    assert(out != NULL && size > 0 && parent != NULL && key != NULL && out != parent);
    size_t n = strlen(parent);
    if (n + 1 >= size)
        goto too_long;
    memcpy(out, parent, n);
    out[n++] = '/';
    for (const char *k = key; *k != '\0'; k++) {
        bool escape = (*k == '~' || *k == '/');
        if (n + (escape ? 2 : 1) >= size)
            goto too_long;
        if (escape) {
            out[n++] = '~';
            out[n++] = *k == '~' ? '0' : '1';
        } else {
            out[n++] = *k;
        }
    }
    out[n] = '\0';
    return 0;
too_long:
    out[0] = '\0';
    return -1;
}

int jsonpos_path_index(char *out, size_t size, const char *parent, size_t i)
{
    assert(out != NULL && size > 0 && parent != NULL && out != parent);
    int n = snprintf(out, size, "%s/%zu", parent, i);
    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}
