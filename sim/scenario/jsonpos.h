/*
 * Line and column of every value and object key of a JSON document.
 *
 * jansson reports positions only for syntax errors; a scenario loader also
 * wants to say where a well-formed but wrong value is. jsonpos scans the raw
 * text of a document that jansson has already accepted and indexes every
 * value by its JSON Pointer (RFC 6901: "/timeline/3/fault/backend", "" for
 * the root). Lines and columns follow jansson's convention, so that syntax
 * errors and validation errors look alike: both 1-based, columns counted in
 * characters (UTF-8 sequences), a tab counting as one column.
 */
#ifndef JSONPOS_H
#define JSONPOS_H

#include <stddef.h>
#include <stdint.h>

/* Bounds: deeper or larger documents fail to index (scenario files are far
 * smaller; the bounds keep a hostile file from costing unbounded memory). */
#define JSONPOS_DEPTH_MAX 32
#define JSONPOS_ENTRIES_MAX (1 << 18)
#define JSONPOS_ERROR_SIZE 128

struct jsonpos_pos {
    int line;   /* 1-based */
    int column; /* 1-based, in characters */
};

struct jsonpos_entry; /* private to jsonpos.c */

struct jsonpos {
    struct jsonpos_entry *entries; /* sorted by (parent, key or index) */
    int count;
    char *keys; /* decoded object keys, NUL-terminated, back to back */
    /* Set when jsonpos_build fails: why and where. */
    char error[JSONPOS_ERROR_SIZE];
    struct jsonpos_pos error_pos;
};

/* Indexes text[0..len). Returns 0, or -1 with index->error and error_pos
 * set (out of memory, too deep, too many values, or text that is not JSON);
 * index is then empty, and jsonpos_free() may still be called on it. */
int jsonpos_build(const char *text, size_t len, struct jsonpos *index);
void jsonpos_free(struct jsonpos *index);

/* The position of the first character of the value at path. Returns 0, or
 * -1 when the document has no such value. */
int jsonpos_value(const struct jsonpos *index, const char *path, struct jsonpos_pos *pos);
/* The position of the opening quote of the key of the object member at path
 * ("/sites/0/name" gives the position of "name"). Returns 0, or -1 when path
 * is not an object member. */
int jsonpos_key(const struct jsonpos *index, const char *path, struct jsonpos_pos *pos);

/* The same for the member key of the object at path, with key given as
 * is (not escaped): for keys too long to put in a path. */
int jsonpos_member_key(const struct jsonpos *index, const char *path, const char *key,
                       struct jsonpos_pos *pos);

/* Path building with RFC 6901 escaping ('~' -> "~0", '/' -> "~1"): out =
 * parent + "/" + key, or parent + "/" + i. Returns 0, or -1 when the result
 * does not fit in size (out is then the empty string). out may not alias
 * parent. */
int jsonpos_path_key(char *out, size_t size, const char *parent, const char *key);
int jsonpos_path_index(char *out, size_t size, const char *parent, size_t i);

#endif
