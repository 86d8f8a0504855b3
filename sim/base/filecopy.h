/*
 * Copies one file to a new one, in the kernel where it can (Linux's
 * copy_file_range), so that a large GeoDB is not pulled through user space.
 */
#ifndef FILECOPY_H
#define FILECOPY_H

/* Copies from to to (created or truncated). Returns 0, or -1 with errno. */
int filecopy(const char *from, const char *to);

#endif
