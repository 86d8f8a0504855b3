/*
 * director_username_hash expansion and hashing. Only the subset of Dovecot's
 * var_expand that the director needs is modelled; everything else is refused
 * with USERHASH_ERR_UNSUPPORTED instead of being guessed.
 */
#include "userhash.h"

#include <assert.h>
#include <string.h>

#include "md5.h"

enum case_mode { CASE_KEEP, CASE_LOWER, CASE_UPPER };

struct expand_out {
    char *buf;
    size_t size;
    size_t len;
    bool overflow;
};

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static void out_append(struct expand_out *out, const char *s, size_t n, enum case_mode mode)
{
    for (size_t i = 0; i < n; i++) {
        if (out->len + 1 >= out->size) {
            out->overflow = true;
            return;
        }
        char c = s[i];
        if (mode == CASE_LOWER)
            c = ascii_lower(c);
        else if (mode == CASE_UPPER)
            c = ascii_upper(c);
        out->buf[out->len++] = c;
    }
}

/* The value of a variable, as a pointer into username and a length. */
static bool variable_value(char key, const char *username, const char **val, size_t *len)
{
    const char *at = strchr(username, '@');
    switch (key) {
    case 'u':
        *val = username;
        *len = strlen(username);
        return true;
    case 'n':
        *val = username;
        *len = at != NULL ? (size_t)(at - username) : strlen(username);
        return true;
    case 'd':
        *val = at != NULL ? at + 1 : "";
        *len = strlen(*val);
        return true;
    default:
        return false;
    }
}

/* Maps a %{long} name to its one-letter key; 0 when the name is unknown. */
static char long_name_key(const char *name, size_t len)
{
    static const struct { const char *name; char key; } names[] = {
        { "user", 'u' }, { "username", 'n' }, { "domain", 'd' },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0)
            return names[i].key;
    }
    return 0;
}

/* %{hostname}, %{pid}, %{uid}, %{gid} and %{env:X} expand to facts about the
 * running process in Dovecot; a simulator has no such process to mirror. */
static bool is_process_builtin(const char *name, size_t len)
{
    static const char *const builtins[] = { "hostname", "pid", "uid", "gid" };
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strlen(builtins[i]) == len && memcmp(builtins[i], name, len) == 0)
            return true;
    }
    return len >= 4 && memcmp(name, "env:", 4) == 0;
}

/* Modifiers Dovecot accepts that we do not model. */
static bool is_unmodelled_modifier(char c)
{
    return c != '\0' && strchr("EXRHNMDT", c) != NULL;
}

/*
 * Expands one %-sequence; *pos points just after the '%' and is advanced
 * past the sequence.
 */
static enum userhash_result expand_one(const char **pos, const char *username,
                                       struct expand_out *out)
{
    const char *p = *pos;
    enum case_mode mode = CASE_KEEP;
    if (*p == '-' || (*p >= '0' && *p <= '9') || *p == '.')
        return USERHASH_ERR_UNSUPPORTED;
    for (;; p++) {
        if (*p == 'L')
            mode = CASE_LOWER;
        else if (*p == 'U')
            mode = CASE_UPPER;
        else if (is_unmodelled_modifier(*p))
            return USERHASH_ERR_UNSUPPORTED;
        else
            break;
    }
    if (*p == '\0') {
        /* "%" or "%L" at the end: Dovecot emits nothing. */
        *pos = p;
        return USERHASH_OK;
    }
    if (*p == '%') {
        out_append(out, "%", 1, CASE_KEEP);
        *pos = p + 1;
        return USERHASH_OK;
    }
    char key = *p;
    const char *next = p + 1;
    if (*p == '{') {
        const char *close = strchr(p + 1, '}');
        if (close == NULL)
            return USERHASH_ERR_UNKNOWN_VARIABLE;
        size_t name_len = (size_t)(close - (p + 1));
        key = long_name_key(p + 1, name_len);
        if (key == 0) {
            return is_process_builtin(p + 1, name_len) ? USERHASH_ERR_UNSUPPORTED
                                                       : USERHASH_ERR_UNKNOWN_VARIABLE;
        }
        next = close + 1;
    }
    const char *val;
    size_t len;
    if (!variable_value(key, username, &val, &len))
        return USERHASH_ERR_UNKNOWN_VARIABLE;
    out_append(out, val, len, mode);
    *pos = next;
    return USERHASH_OK;
}

enum userhash_result userhash_expand(const char *fmt, const char *username,
                                     char *out, size_t out_size, size_t *len_out)
{
    assert(fmt != NULL && username != NULL && out != NULL && out_size > 0);
    struct expand_out o = { .buf = out, .size = out_size, .len = 0, .overflow = false };
    const char *p = fmt;
    while (*p != '\0') {
        if (*p != '%') {
            out_append(&o, p, 1, CASE_KEEP);
            p++;
            continue;
        }
        p++;
        enum userhash_result r = expand_one(&p, username, &o);
        if (r != USERHASH_OK)
            return r;
    }
    if (o.overflow)
        return USERHASH_ERR_TOO_LONG;
    out[o.len] = '\0';
    if (len_out != NULL)
        *len_out = o.len;
    return USERHASH_OK;
}

uint32_t userhash_md5_be32(const void *data, size_t len)
{
    uint8_t d[MD5_DIGEST_SIZE];
    md5_digest(data, len, d);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

enum userhash_result userhash_compute(const char *fmt, const char *username,
                                      uint32_t *hash_out)
{
    assert(hash_out != NULL);
    char buf[USERHASH_EXPANSION_MAX + 1];
    size_t len;
    enum userhash_result r = userhash_expand(fmt, username, buf, sizeof(buf), &len);
    if (r != USERHASH_OK)
        return r;
    uint32_t h = userhash_md5_be32(buf, len);
    *hash_out = h == 0 ? 1 : h;
    return USERHASH_OK;
}

bool userhash_parse_uint32(const char *s, uint32_t *value_out)
{
    assert(s != NULL);
    if (*s == '\0')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
    }
    if (value_out != NULL)
        *value_out = (uint32_t)v;
    return true;
}

const char *userhash_result_text(enum userhash_result result)
{
    switch (result) {
    case USERHASH_OK: return "ok";
    case USERHASH_ERR_UNKNOWN_VARIABLE: return "Unknown variable";
    case USERHASH_ERR_UNSUPPORTED: return "format not supported by the model";
    case USERHASH_ERR_TOO_LONG: return "expansion too long";
    }
    return "unknown result";
}
