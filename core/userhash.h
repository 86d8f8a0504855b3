/*
 * The Dovecot 2.3 director's 32-bit user hash: the director_username_hash
 * format expanded for one username, MD5'd, first four bytes big-endian, and
 * 0 mapped to 1. Placement parity with the real director starts here.
 */
#ifndef USERHASH_H
#define USERHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest expansion we hash; Dovecot has no such limit, but our usernames are
 * at most 255 bytes and a format rarely repeats a variable. */
#define USERHASH_EXPANSION_MAX 1024
#define USERHASH_DEFAULT_FORMAT "%Lu"

enum userhash_result {
    USERHASH_OK = 0,
    /* %x or %{name} that Dovecot does not know: it fails the same way. */
    USERHASH_ERR_UNKNOWN_VARIABLE,
    /* Valid in Dovecot but not modelled here: width/offset (%3u, %1.2u)
     * and the modifiers E, X, R, H, N, M, D, T; %{hostname}, %{env:...}. */
    USERHASH_ERR_UNSUPPORTED,
    /* The expansion would exceed the output buffer. */
    USERHASH_ERR_TOO_LONG,
};

/*
 * Expands fmt for username into out (NUL-terminated, at most out_size - 1
 * bytes) and stores the length in *len_out. Variables: %u / %{user} (the whole
 * name), %n / %{username} (before the first '@'), %d / %{domain} (after it,
 * or empty); modifiers L and U (ASCII-only case), applied left to right; %%
 * is '%'. A '%' or modifier at the very end expands to nothing, as in Dovecot.
 */
enum userhash_result userhash_expand(const char *fmt, const char *username,
                                     char *out, size_t out_size, size_t *len_out);

/* The director's hash of username under fmt (never 0). */
enum userhash_result userhash_compute(const char *fmt, const char *username,
                                      uint32_t *hash_out);

/* MD5 of bytes, first four digest bytes big-endian, without the 0 -> 1 step
 * (ring points use this raw value). */
uint32_t userhash_md5_be32(const void *data, size_t len);

/*
 * True when s is a decimal unsigned 32-bit number: digits only, at least one,
 * leading zeros allowed, value <= 4294967295. Admin lookups take such a
 * "username" as the hash itself (Dovecot's str_to_uint).
 */
bool userhash_parse_uint32(const char *s, uint32_t *value_out);

/* Short English text for a result, for error messages. */
const char *userhash_result_text(enum userhash_result result);

#endif
