/*
 * File copy: copy_file_range where the system has it, a read/write loop
 * otherwise (and when the kernel refuses, as across some file systems).
 */
#define _GNU_SOURCE /* copy_file_range */

#include "sim/base/filecopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static int copy_loop(int in, int out)
{
    char *buf = malloc(CHUNK);
    if (buf == NULL)
        return -1;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, buf, CHUNK)) != 0) {
        if (n < 0) {
            rc = errno == EINTR ? 0 : -1;
            continue;
        }
        for (ssize_t done = 0; rc == 0 && done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                rc = -1;
            else if (w > 0)
                done += w;
        }
    }
    free(buf);
    return rc;
}

static int copy_fds(int in, int out, off_t size)
{
#ifdef __linux__
    off_t left = size;
    while (left > 0) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n > 0) {
            left -= n;
            continue;
        }
        if (n == 0 || errno == EINTR)
            continue;
        if (left == size && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
                             errno == EINVAL))
            return copy_loop(in, out); /* nothing copied yet: the portable way */
        return -1;
    }
    return 0;
#else
    (void)size;
    return copy_loop(in, out);
#endif
}

int filecopy(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    if (in < 0)
        return -1;
    struct stat st;
    int out = fstat(in, &st) == 0 ? open(to, O_WRONLY | O_CREAT | O_TRUNC, 0666) : -1;
    int rc = out >= 0 ? copy_fds(in, out, st.st_size) : -1;
    int saved = errno;
    if (out >= 0 && close(out) != 0 && rc == 0) {
        saved = errno;
        rc = -1;
    }
    close(in);
    errno = saved;
    return rc;
}
