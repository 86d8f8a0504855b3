/*
 * The JUnit XML writer (see junit.h). Text is escaped for XML attributes
 * and character data; bytes XML 1.0 cannot carry (control characters)
 * become '?', so that any message makes a well-formed file.
 */
#include "sim/base/junit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct junit_case {
    char *classname;
    char *name;
    char *failure; /* NULL: passed */
};

struct junit {
    char *suite;
    int n;
    int cap;
    int failures;
    struct junit_case *cases;
};

struct junit *junit_new(const char *suite)
{
    struct junit *j = calloc(1, sizeof(*j));
    if (j != NULL && (j->suite = strdup(suite)) == NULL) {
        free(j);
        j = NULL;
    }
    return j;
}

void junit_free(struct junit *j)
{
    if (j == NULL)
        return;
    for (int i = 0; i < j->n; i++) {
        free(j->cases[i].classname);
        free(j->cases[i].name);
        free(j->cases[i].failure);
    }
    free(j->cases);
    free(j->suite);
    free(j);
}

int junit_case(struct junit *j, const char *classname, const char *name, const char *failure)
{
    if (j->n == j->cap) {
        int cap = j->cap ? j->cap * 2 : 16;
        struct junit_case *grown = realloc(j->cases, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        j->cases = grown;
        j->cap = cap;
    }
    struct junit_case *c = &j->cases[j->n];
    c->classname = strdup(classname);
    c->name = strdup(name);
    c->failure = failure ? strdup(failure) : NULL;
    if (c->classname == NULL || c->name == NULL || (failure != NULL && c->failure == NULL)) {
        free(c->classname);
        free(c->name);
        free(c->failure);
        return -1;
    }
    j->n++;
    j->failures += failure != NULL;
    return 0;
}

static void put_escaped(FILE *f, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            fputc((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f ? '?' : *p, f);
        }
    }
}

static void write_cases(const struct junit *j, FILE *f)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", f);
    put_escaped(f, j->suite);
    fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n", j->n, j->failures);
    for (int i = 0; i < j->n; i++) {
        const struct junit_case *c = &j->cases[i];
        fputs("    <testcase classname=\"", f);
        put_escaped(f, c->classname);
        fputs("\" name=\"", f);
        put_escaped(f, c->name);
        if (c->failure == NULL) {
            fputs("\"/>\n", f);
            continue;
        }
        fputs("\">\n      <failure message=\"", f);
        put_escaped(f, c->failure);
        fputs("\">", f);
        put_escaped(f, c->failure);
        fputs("</failure>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
}

int junit_write(struct junit *j, const char *path, char *err, size_t err_size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, err_size, "%s: path too long", path);
        junit_free(j);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f != NULL) {
        write_cases(j, f);
        int failed = ferror(f);
        if (fclose(f) == 0 && !failed && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc != 0) {
        snprintf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
    }
    junit_free(j);
    return rc;
}
