/*
 * Large arrays from mmap with MADV_HUGEPAGE (Linux's transparent huge
 * pages in "madvise" mode), small ones and other systems from calloc. A
 * header in front of each block remembers how it was obtained. A large
 * array starts on a 2 MiB boundary, so that all of it can be huge pages:
 * the workload's random reads over per-user arrays then miss the TLB far
 * less.
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

#define HUGE_PAGE (2u << 20)

struct header {
    void *base;    /* what mmap returned */
    size_t mapped; /* bytes mapped, 0 when from calloc */
};

void *bigmem_calloc(size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - HEADER - HUGE_PAGE) / size)
        return NULL;
    size_t bytes = n * size + HEADER;
    unsigned char *block = NULL;
    void *base = NULL;
    size_t mapped = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_THRESHOLD) {
        size_t len = bytes + HUGE_PAGE;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            uintptr_t data = ((uintptr_t)m + HEADER + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
            madvise(m, len, MADV_HUGEPAGE); /* advice: failure is harmless */
            block = (unsigned char *)(data - HEADER);
            base = m;
            mapped = len;
        }
    }
#endif
    if (block == NULL) {
        /* Cache-line aligned here too: records aligned to their size
         * (struct uc_route) must never straddle a line, nor be misaligned. */
        size_t rounded = (bytes + HEADER - 1) / HEADER * HEADER;
        block = base = aligned_alloc(HEADER, rounded);
        if (block == NULL)
            return NULL;
        memset(block, 0, rounded);
    }
    ((struct header *)block)->base = base;
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
        munmap(((struct header *)block)->base, mapped);
        return;
    }
#endif
    (void)mapped;
    free(block);
}
