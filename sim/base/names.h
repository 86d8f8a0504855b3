/*
 * Validation of the names operators type into doveadm: backend host names,
 * site and tag names, usernames. Each check returns NULL when the name is
 * acceptable, or a short reason to put in the error message.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stdbool.h>

/* A resolvable-looking DNS name: LDH labels of 1..63 characters, at most 253
 * in all, and not an IPv4 or IPv6 literal (Palomar rejects raw IPs). */
const char *names_check_host(const char *name);
/* A site or tag name: 1..64 characters of letters, digits, '.', '_', '-'. */
const char *names_check_label(const char *name);
/* A load balancer: a DNS name as above, or an IP literal. */
const char *names_check_load_balancer(const char *name);
/* A username: 1..255 bytes, no control characters, spaces, quotes or ';'. */
const char *names_check_user(const char *name);

#endif
