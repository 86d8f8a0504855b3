/*
 * Name checks for doveadm input. Names end up in the GeoDB, in CSV reports
 * and in shell commands an operator copies from them, so quotes, semicolons,
 * whitespace and non-ASCII bytes are refused where a name is an identifier.
 */
#include "sim/base/names.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <string.h>

#define LABEL_NAME_MAX 64
#define DNS_LABEL_MAX 63
#define DNS_NAME_MAX 253
#define USER_NAME_MAX 255

static bool is_ip_literal(const char *name)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1)
        return true;
    /* "[::1]" is how IPv6 literals appear in URLs and configs. */
    size_t len = strlen(name);
    return len > 2 && name[0] == '[' && name[len - 1] == ']' && strchr(name, ':') != NULL;
}

static const char *check_dns(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "empty name";
    if (len > DNS_NAME_MAX)
        return "longer than 253 characters";
    const char *label = name;
    bool last_all_digits = true;
    for (const char *p = name;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t label_len = (size_t)(p - label);
            if (label_len == 0)
                return "empty label";
            if (label_len > DNS_LABEL_MAX)
                return "label longer than 63 characters";
            if (label[0] == '-' || p[-1] == '-')
                return "label starts or ends with '-'";
            if (*p == '\0')
                break;
            label = p + 1;
            last_all_digits = true;
            continue;
        }
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80)
            return "non-ASCII character";
        if (!isalnum(c) && c != '-')
            return "character not allowed in a host name";
        if (!isdigit(c))
            last_all_digits = false;
    }
    /* A numeric top label is an address in disguise (RFC 3696). */
    if (last_all_digits)
        return "numeric top-level label";
    return NULL;
}

const char *names_check_host(const char *name)
{
    assert(name != NULL);
    if (is_ip_literal(name) || strchr(name, ':') != NULL)
        return "IP literals are not accepted, use a resolvable DNS name";
    return check_dns(name);
}

const char *names_check_load_balancer(const char *name)
{
    assert(name != NULL);
    if (is_ip_literal(name))
        return NULL;
    return check_dns(name);
}

const char *names_check_label(const char *name)
{
    assert(name != NULL);
    size_t len = strlen(name);
    if (len == 0)
        return "empty name";
    if (len > LABEL_NAME_MAX)
        return "longer than 64 characters";
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80)
            return "non-ASCII character";
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return "only letters, digits, '.', '_' and '-' are allowed";
    }
    return NULL;
}

const char *names_check_user(const char *name)
{
    assert(name != NULL);
    size_t len = strlen(name);
    if (len == 0)
        return "empty username";
    if (len > USER_NAME_MAX)
        return "longer than 255 bytes";
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f)
            return "control character";
        if (c == ' ' || c == '"' || c == '\'' || c == ';' || c == '\\')
            return "whitespace, quotes, ';' and '\\' are not allowed";
    }
    return NULL;
}
