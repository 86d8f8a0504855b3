/*
 * PNG (png.h): signature, IHDR, PLTE, one IDAT holding a zlib stream of
 * "stored" deflate blocks (no compression: the images are small and this
 * needs no zlib), IEND. Each chunk carries a CRC-32, the zlib stream an
 * Adler-32; both are computed here.
 */
#include "sim/report/png.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define STORED_BLOCK_MAX 65535

struct buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, be, 4);
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    if (table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* A chunk: length, type, data, CRC of type and data. */
static void chunk(struct buf *out, const char type[4], const struct buf *data)
{
    put_u32(out, (uint32_t)data->len);
    size_t at = out->len;
    put(out, type, 4);
    if (data->len > 0)
        put(out, data->p, data->len);
    if (!out->failed)
        put_u32(out, crc32_update(0, out->p + at, 4 + data->len));
}

/* The zlib stream of the filtered scanlines, in stored blocks. */
static void zlib_stored(struct buf *z, const uint8_t *raw, size_t n)
{
    static const uint8_t header[2] = {0x78, 0x01};
    put(z, header, 2);
    size_t at = 0;
    do {
        size_t len = n - at > STORED_BLOCK_MAX ? STORED_BLOCK_MAX : n - at;
        uint8_t h[5] = {(uint8_t)(at + len == n), (uint8_t)len, (uint8_t)(len >> 8),
                        (uint8_t)~len, (uint8_t)(~len >> 8)};
        put(z, h, 5);
        if (len > 0)
            put(z, raw + at, len);
        at += len;
    } while (at < n);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    put_u32(z, b << 16 | a);
}

static void base64(FILE *f, const uint8_t *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char out[4] = {digits[v >> 18 & 63], digits[v >> 12 & 63],
                       i + 1 < n ? digits[v >> 6 & 63] : '=', i + 2 < n ? digits[v & 63] : '='};
        fwrite(out, 1, 4, f);
    }
}

int png_write_data_uri(FILE *f, const uint8_t *pixels, int width, int height,
                       const uint8_t *palette, int ncolors)
{
    assert(width > 0 && height > 0 && ncolors > 0 && ncolors <= 256);
    struct buf raw = {0}, z = {0}, ihdr = {0}, plte = {0}, png = {0};
    static const uint8_t filter_none = 0;
    for (int y = 0; y < height; y++) {
        put(&raw, &filter_none, 1);
        put(&raw, pixels + (size_t)y * (size_t)width, (size_t)width);
    }
    if (!raw.failed)
        zlib_stored(&z, raw.p, raw.len);
    put_u32(&ihdr, (uint32_t)width);
    put_u32(&ihdr, (uint32_t)height);
    static const uint8_t rest[5] = {8, 3, 0, 0, 0}; /* depth 8, indexed, no interlace */
    put(&ihdr, rest, 5);
    put(&plte, palette, (size_t)ncolors * 3);
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(&png, signature, 8);
    chunk(&png, "IHDR", &ihdr);
    chunk(&png, "PLTE", &plte);
    chunk(&png, "IDAT", &z);
    struct buf none = {0};
    chunk(&png, "IEND", &none);
    int rc = raw.failed || z.failed || ihdr.failed || plte.failed || png.failed ? -1 : 0;
    if (rc == 0) {
        fputs("data:image/png;base64,", f);
        base64(f, png.p, png.len);
    }
    free(raw.p);
    free(z.p);
    free(ihdr.p);
    free(plte.p);
    free(png.p);
    return rc;
}
