/*
 * Large arrays from mmap with MADV_HUGEPAGE (Linux's transparent huge
 * pages in "madvise" mode), small ones and other systems from calloc. A
 * header in front of each block remembers how it was obtained.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */

#include "sim/base/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#define HUGE_THRESHOLD (4u << 20) /* below this, huge pages do not pay */
#define HEADER 64                 /* keeps the caller's block cache-line aligned */

struct header {
    size_t mapped; /* bytes mapped, 0 when from calloc */
};

void *bigmem_calloc(size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - HEADER) / size)
        return NULL;
    size_t bytes = n * size + HEADER;
    unsigned char *block = NULL;
    size_t mapped = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_THRESHOLD) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            madvise(m, bytes, MADV_HUGEPAGE); /* advice: failure is harmless */
            block = m;
            mapped = bytes;
        }
    }
#endif
    if (block == NULL)
        block = calloc(1, bytes);
    if (block == NULL)
        return NULL;
    ((struct header *)block)->mapped = mapped;
    return block + HEADER;
}

void bigmem_free(void *p)
{
    if (p == NULL)
        return;
    unsigned char *block = (unsigned char *)p - HEADER;
    size_t mapped = ((struct header *)block)->mapped;
#ifdef __linux__
    if (mapped != 0) {
        munmap(block, mapped);
        return;
    }
#endif
    (void)mapped;
    free(block);
}
