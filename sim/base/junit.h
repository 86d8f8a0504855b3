/*
 * JUnit XML for CI systems: one <testsuite> of <testcase>s, a <failure>
 * with a message for each that failed. Cases are collected in memory and
 * the file is written at the end (beside it, then renamed), so a CI job
 * never reads half a file.
 */
#ifndef JUNIT_H
#define JUNIT_H

#include <stddef.h>

struct junit;

struct junit *junit_new(const char *suite);
/* A test case; failure is NULL when it passed. -1 when out of memory. */
int junit_case(struct junit *j, const char *classname, const char *name, const char *failure);
/* Writes the file and frees j. 0, or -1 with err set. */
int junit_write(struct junit *j, const char *path, char *err, size_t err_size);
void junit_free(struct junit *j);

#endif
