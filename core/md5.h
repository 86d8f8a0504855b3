/*
 * MD5 (RFC 1321). The Dovecot director hashes usernames and vhost ring points
 * with MD5, so bit-exact placement needs the real digest; this is our own
 * implementation from the RFC, not Dovecot's code.
 */
#ifndef MD5_H
#define MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_SIZE 16
#define MD5_BLOCK_SIZE 64

struct md5_ctx {
    uint32_t state[4];
    uint64_t length_bytes;
    uint8_t block[MD5_BLOCK_SIZE];
    size_t block_used;
};

void md5_init(struct md5_ctx *ctx);
void md5_update(struct md5_ctx *ctx, const void *data, size_t len);
/* Writes the digest and leaves ctx unusable until md5_init. */
void md5_final(struct md5_ctx *ctx, uint8_t out[MD5_DIGEST_SIZE]);
void md5_digest(const void *data, size_t len, uint8_t out[MD5_DIGEST_SIZE]);

#endif
