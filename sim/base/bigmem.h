/*
 * Zeroed allocations for the simulator's large per-user arrays, backed by
 * huge pages where the kernel offers them: a million users' records are
 * read in random order, and with 4 KiB pages most of those reads also miss
 * the TLB.
 */
#ifndef BIGMEM_H
#define BIGMEM_H

#include <stddef.h>

/* Like calloc(n, size), aligned to a 64-byte cache line: NULL when out of
 * memory. Free with bigmem_free. */
void *bigmem_calloc(size_t n, size_t size);
void bigmem_free(void *p);

#endif
