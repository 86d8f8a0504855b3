/*
 * `doveadm cluster site|backend|tag ...` against the GeoDB emulation, with
 * the documented semantics: new sites start online and new backends in
 * standby, backend names must be DNS names (no IP literals), a status change
 * clears the force-move, `--self` takes the names from -o settings, and
 * `--id` re-adds with a given UUID. Every check happens before the first
 * write, and the caller rolls the transaction back on any error.
 */
#include "sim/doveadm/doveadm_cluster.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "sim/base/names.h"

/* ---- lookups shared with doveadm_user.c ---- */

int doveadm_site_find(struct doveadm_ctx *ctx, const char *name, struct geodb_site *out)
{
    const char *why = names_check_label(name);
    if (why != NULL)
        return doveadm__error(ctx, DOVEADM_EX_USAGE, "invalid site name '%s': %s", name, why);
    int rc = geodb_site_get(ctx->db, name, out);
    if (rc == GEODB_NOTFOUND)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "Site %s doesn't exist", name);
    return doveadm__geodb(ctx, rc, "read site");
}

int doveadm_backend_find(struct doveadm_ctx *ctx, const char *name, struct geodb_backend *out)
{
    const char *why = names_check_host(name);
    if (why != NULL)
        return doveadm__error(ctx, DOVEADM_EX_USAGE, "invalid backend name '%s': %s", name,
                              why);
    int rc = geodb_backend_get(ctx->db, name, out);
    if (rc == GEODB_NOTFOUND)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "Backend %s doesn't exist", name);
    return doveadm__geodb(ctx, rc, "read backend");
}

/* NAME or --self (cluster_local_site / cluster_backend_name). */
static int target_name(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                       const char *setting_value, const char *setting, const char **name)
{
    bool self = doveadm_opt(args, "--self") != NULL;
    if (self == (args->argc == 1))
        return doveadm__usage(ctx, args, "give either a name or --self");
    if (!self) {
        *name = args->argv[0];
        return DOVEADM_EX_OK;
    }
    if (setting_value[0] == '\0')
        return doveadm__usage(ctx, args, "--self needs -o %s=NAME", setting);
    *name = setting_value;
    return DOVEADM_EX_OK;
}

/* A percentage or load factor: digits only, 0..100. Returns 0 or -1. */
static int parse_pct(const char *text, int *out)
{
    if (text[0] == '\0' || strlen(text) > 3 || strspn(text, "0123456789") != strlen(text))
        return -1;
    int value = atoi(text);
    if (value > 100)
        return -1;
    *out = value;
    return 0;
}

static int id_option(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                     char out[CLUSTER_ID_SIZE])
{
    const char *id = doveadm_opt(args, "--id");
    if (id == NULL) {
        int rc = geodb_uuid_new(ctx->db, out);
        return doveadm__geodb(ctx, rc, "generate id");
    }
    if (!geodb_uuid_valid(id))
        return doveadm__usage(ctx, args, "--id %s: not a UUID", id);
    snprintf(out, CLUSTER_ID_SIZE, "%s", id);
    /* Ids are stored lower-case so that the same id is one key. */
    for (char *p = out; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    }
    return DOVEADM_EX_OK;
}

/* "25% -> DC2,DC3" in names, for list and status output. */
static void fm_describe(struct doveadm_ctx *ctx, const struct geodb_fm *fm, bool sites,
                        char *out, size_t size)
{
    if (!fm->active) {
        snprintf(out, size, "-");
        return;
    }
    size_t used = (size_t)snprintf(out, size, "%d%% ->", fm->pct);
    for (int i = 0; i < fm->ndest && used < size; i++) {
        struct geodb_site site;
        struct geodb_backend backend;
        const char *name = fm->dest[i];
        if (sites && geodb_site_get_by_id(ctx->db, fm->dest[i], &site) == GEODB_OK)
            name = site.name;
        if (!sites && geodb_backend_get_by_id(ctx->db, fm->dest[i], &backend) == GEODB_OK)
            name = backend.name;
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : " ", name);
    }
}

/* ---- user counts per backend, for list and status output ---- */

struct user_counts {
    int n;
    char ids[CLUSTER_BACKENDS_MAX][CLUSTER_ID_SIZE];
    int64_t users[CLUSTER_BACKENDS_MAX];
};

static void user_counts_add(void *ctx, const char *backend_id, int64_t users)
{
    struct user_counts *counts = ctx;
    if (counts->n >= CLUSTER_BACKENDS_MAX)
        return;
    snprintf(counts->ids[counts->n], CLUSTER_ID_SIZE, "%s", backend_id);
    counts->users[counts->n++] = users;
}

static int64_t user_counts_get(const struct user_counts *counts, const char *backend_id)
{
    for (int i = 0; i < counts->n; i++) {
        if (strcmp(counts->ids[i], backend_id) == 0)
            return counts->users[i];
    }
    return 0;
}

static struct user_counts *user_counts_load(struct doveadm_ctx *ctx)
{
    struct user_counts *counts = calloc(1, sizeof(*counts));
    if (counts == NULL)
        return NULL;
    if (geodb_user_count_by_backend(ctx->db, user_counts_add, counts) != GEODB_OK) {
        free(counts);
        return NULL;
    }
    return counts;
}

/* ---- tags ---- */

static int tag_create(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *name = args->argv[0];
    const char *why = names_check_label(name);
    if (why != NULL)
        return doveadm__usage(ctx, args, "invalid tag name '%s': %s", name, why);
    struct geodb_tag tag;
    if (geodb_tag_get(ctx->db, name, &tag) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Tag %s already exists", name);
    char id[CLUSTER_ID_SIZE];
    int ex = id_option(ctx, args, id);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (geodb_tag_get(ctx->db, id, &tag) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Tag id %s already exists", id);
    int count = 0;
    struct geodb_tag *all = malloc(sizeof(*all) * CLUSTER_TAGS_MAX);
    if (all == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    int rc = geodb_tag_list(ctx->db, all, CLUSTER_TAGS_MAX, &count);
    free(all);
    if (rc != GEODB_OK || count >= CLUSTER_TAGS_MAX)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "at most %d tags", CLUSTER_TAGS_MAX);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_tag_add(ctx->db, id, name), "create tag");
}

static int tag_find(struct doveadm_ctx *ctx, const char *name_or_id, struct geodb_tag *out)
{
    if (!geodb_uuid_valid(name_or_id)) {
        const char *why = names_check_label(name_or_id);
        if (why != NULL)
            return doveadm__error(ctx, DOVEADM_EX_USAGE, "invalid tag name '%s': %s",
                                  name_or_id, why);
    }
    int rc = geodb_tag_get(ctx->db, name_or_id, out);
    if (rc == GEODB_NOTFOUND)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "Tag %s doesn't exist", name_or_id);
    return doveadm__geodb(ctx, rc, "read tag");
}

static int tag_delete(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_tag tag;
    int ex = tag_find(ctx, args->argv[0], &tag);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_tag_delete(ctx->db, tag.id), "delete tag");
}

static int tag_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *name = doveadm_opt(args, "--name");
    if (name == NULL)
        return doveadm__usage(ctx, args, "--name is required");
    const char *why = names_check_label(name);
    if (why != NULL)
        return doveadm__usage(ctx, args, "invalid tag name '%s': %s", name, why);
    struct geodb_tag tag, other;
    int ex = tag_find(ctx, args->argv[0], &tag);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (geodb_tag_get(ctx->db, name, &other) == GEODB_OK && strcmp(other.id, tag.id) != 0)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Tag %s already exists", name);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_tag_rename(ctx->db, tag.id, name), "rename tag");
}

static int tag_list(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    struct geodb_tag *tags = malloc(sizeof(*tags) * CLUSTER_TAGS_MAX);
    struct geodb_site *sites = malloc(sizeof(*sites) * CLUSTER_SITES_MAX);
    int ntags = 0, nsites = 0, ex = DOVEADM_EX_OK;
    if (tags == NULL || sites == NULL) {
        ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    } else {
        ex = doveadm__geodb(ctx, geodb_tag_list(ctx->db, tags, CLUSTER_TAGS_MAX, &ntags),
                            "list tags");
        if (ex == DOVEADM_EX_OK)
            ex = doveadm__geodb(
                ctx, geodb_site_list(ctx->db, sites, CLUSTER_SITES_MAX, &nsites), "list sites");
    }
    if (ex == DOVEADM_EX_OK) {
        static const char *const titles[] = {"id", "name", "sites"};
        struct fmt_table *table = fmt_table_new(3, titles);
        for (int i = 0; table != NULL && i < ntags; i++) {
            int used = 0;
            for (int s = 0; s < nsites; s++)
                used += strcmp(sites[s].tag_id, tags[i].id) == 0;
            char nbuf[16];
            snprintf(nbuf, sizeof(nbuf), "%d", used);
            const char *row[] = {tags[i].id, tags[i].name, nbuf};
            doveadm__add_row(&table, row);
        }
        ex = doveadm__print(ctx, table);
    }
    free(tags);
    free(sites);
    return ex;
}

/* ---- sites ---- */

static int site_add(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site = {.status = SITE_ONLINE};
    const char *name = args->argv[0];
    const char *why = names_check_label(name);
    if (why != NULL)
        return doveadm__usage(ctx, args, "invalid site name '%s': %s", name, why);
    snprintf(site.name, sizeof(site.name), "%s", name);
    const char *lb = doveadm_opt(args, "--load-balancer");
    if (lb != NULL && (why = names_check_load_balancer(lb)) != NULL)
        return doveadm__usage(ctx, args, "invalid load balancer '%s': %s", lb, why);
    snprintf(site.load_balancer, sizeof(site.load_balancer), "%s", lb ? lb : "");
    const char *tag_name = doveadm_opt(args, "--tag");
    if (tag_name != NULL) {
        struct geodb_tag tag;
        int ex = tag_find(ctx, tag_name, &tag);
        if (ex != DOVEADM_EX_OK)
            return ex;
        snprintf(site.tag_id, sizeof(site.tag_id), "%s", tag.id);
    }
    struct geodb_site other;
    if (geodb_site_get(ctx->db, name, &other) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Site %s already exists", name);
    int ex = id_option(ctx, args, site.id);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (geodb_site_get_by_id(ctx->db, site.id, &other) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Site id %s already exists (%s)",
                              site.id, other.name);
    struct geodb_site *all = malloc(sizeof(*all) * CLUSTER_SITES_MAX);
    int count = 0;
    int rc = all ? geodb_site_list(ctx->db, all, CLUSTER_SITES_MAX, &count) : GEODB_IO;
    free(all);
    if (rc != GEODB_OK || count >= CLUSTER_SITES_MAX)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "at most %d sites", CLUSTER_SITES_MAX);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_site_add(ctx->db, &site), "add site");
}

static int site_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *status_word = doveadm_opt(args, "--status");
    const char *lb = doveadm_opt(args, "--load-balancer");
    if (status_word == NULL && lb == NULL)
        return doveadm__usage(ctx, args, "nothing to update: give --status or --load-balancer");
    int status = -1;
    if (status_word != NULL && (status = site_status_parse(status_word)) < 0)
        return doveadm__usage(ctx, args,
                              "invalid status '%s': expected online, offline, standby or "
                              "evacuate",
                              status_word);
    const char *why = NULL;
    if (lb != NULL && (why = names_check_load_balancer(lb)) != NULL)
        return doveadm__usage(ctx, args, "invalid load balancer '%s': %s", lb, why);
    const char *name = NULL;
    int ex = target_name(ctx, args, ctx->local_site, "cluster_local_site", &name);
    struct geodb_site site;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_site_find(ctx, name, &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    int rc = GEODB_OK;
    if (status >= 0)
        rc = geodb_site_set_status(ctx->db, site.id, (enum site_status)status);
    if (rc == GEODB_OK && lb != NULL)
        rc = geodb_site_set_load_balancer(ctx->db, site.id, lb);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, rc, "update site");
}

static int site_remove(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site;
    int ex = doveadm_site_find(ctx, args->argv[0], &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* Palomar documents no safety checks here: the operator removes the
     * site's backends first. */
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_site_remove(ctx->db, site.id), "remove site");
}

static int site_rows(struct doveadm_ctx *ctx, const struct geodb_site *sites, int nsites,
                     bool detail)
{
    struct geodb_backend *backends = malloc(sizeof(*backends) * CLUSTER_BACKENDS_MAX);
    struct user_counts *counts = user_counts_load(ctx);
    int nbackends = 0;
    if (backends == NULL || counts == NULL ||
        geodb_backend_list(ctx->db, NULL, backends, CLUSTER_BACKENDS_MAX, &nbackends) !=
            GEODB_OK) {
        free(backends);
        free(counts);
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "cannot read backends");
    }
    static const char *const titles[] = {"id", "name", "tag", "status", "load_balancer",
                                         "backends", "online", "users", "force_move",
                                         "recover"};
    struct fmt_table *table = fmt_table_new(detail ? 10 : 9, titles);
    for (int i = 0; table != NULL && i < nsites; i++) {
        const struct geodb_site *s = &sites[i];
        int total = 0, online = 0;
        int64_t users = 0;
        for (int b = 0; b < nbackends; b++) {
            if (strcmp(backends[b].site_id, s->id) != 0)
                continue;
            total++;
            online += backends[b].status == BACKEND_ONLINE;
            users += user_counts_get(counts, backends[b].id);
        }
        struct geodb_tag tag = {0};
        if (s->tag_id[0] != '\0' && geodb_tag_get(ctx->db, s->tag_id, &tag) != GEODB_OK)
            snprintf(tag.name, sizeof(tag.name), "%s", s->tag_id);
        char fm[512], rec[64], nb[16], no[16], nu[24];
        fm_describe(ctx, &s->fm, true, fm, sizeof(fm));
        snprintf(rec, sizeof(rec), s->recover_active ? "%d%%" : "-", s->recover_pct);
        snprintf(nb, sizeof(nb), "%d", total);
        snprintf(no, sizeof(no), "%d", online);
        snprintf(nu, sizeof(nu), "%" PRId64, users);
        const char *row[] = {s->id, s->name, tag.name[0] ? tag.name : "-",
                             site_status_name(s->status),
                             s->load_balancer[0] ? s->load_balancer : "-", nb, no, nu, fm, rec};
        doveadm__add_row(&table, row);
    }
    free(backends);
    free(counts);
    return doveadm__print(ctx, table);
}

static int site_list(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    struct geodb_site sites[CLUSTER_SITES_MAX];
    int n = 0;
    int ex = doveadm__geodb(ctx, geodb_site_list(ctx->db, sites, CLUSTER_SITES_MAX, &n),
                            "list sites");
    return ex == DOVEADM_EX_OK ? site_rows(ctx, sites, n, false) : ex;
}

static int site_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site;
    int ex = doveadm_site_find(ctx, args->argv[0], &site);
    return ex == DOVEADM_EX_OK ? site_rows(ctx, &site, 1, true) : ex;
}

void doveadm_name_of(struct doveadm_ctx *ctx, bool site, const char *id, char *out, size_t size)
{
    struct geodb_site s;
    struct geodb_backend b;
    if (id[0] == '\0')
        snprintf(out, size, "-");
    else if (site && geodb_site_get_by_id(ctx->db, id, &s) == GEODB_OK)
        snprintf(out, size, "%s", s.name);
    else if (!site && geodb_backend_get_by_id(ctx->db, id, &b) == GEODB_OK)
        snprintf(out, size, "%s", b.name);
    else
        snprintf(out, size, "%s", id);
}

int doveadm_dest_ids(struct doveadm_ctx *ctx, const struct doveadm_args *args, int first,
                     bool sites, const char *self_id, char ids[][CLUSTER_ID_SIZE], int *n)
{
    if (args->argc - first > CLUSTER_FM_DEST_MAX)
        return doveadm__usage(ctx, args, "at most %d destinations", CLUSTER_FM_DEST_MAX);
    *n = 0;
    for (int i = first; i < args->argc; i++) {
        struct geodb_site site;
        struct geodb_backend backend;
        int ex = sites ? doveadm_site_find(ctx, args->argv[i], &site)
                       : doveadm_backend_find(ctx, args->argv[i], &backend);
        if (ex != DOVEADM_EX_OK)
            return ex;
        const char *id = sites ? site.id : backend.id;
        if (strcmp(id, self_id) == 0)
            return doveadm__usage(ctx, args, "%s cannot be its own destination",
                                  args->argv[i]);
        for (int j = 0; j < *n; j++) {
            if (strcmp(ids[j], id) == 0)
                return doveadm__usage(ctx, args, "destination %s given twice", args->argv[i]);
        }
        snprintf(ids[(*n)++], CLUSTER_ID_SIZE, "%s", id);
    }
    return DOVEADM_EX_OK;
}

/* Resolves force-move destinations (site or backend names) into ids. */
static int fm_dests(struct doveadm_ctx *ctx, const struct doveadm_args *args, bool sites,
                    const char *self_id, struct geodb_fm *fm)
{
    return doveadm_dest_ids(ctx, args, 2, sites, self_id, fm->dest, &fm->ndest);
}

static int fm_pct_arg(struct doveadm_ctx *ctx, const struct doveadm_args *args, int *pct)
{
    if (parse_pct(args->argv[1], pct) != 0)
        return doveadm__usage(ctx, args, "invalid percentage '%s': expected 0..100",
                              args->argv[1]);
    return DOVEADM_EX_OK;
}

/* A site or a backend, with its force-move: the force-move commands are
 * the same for both. */
struct fm_target {
    bool site;
    char id[CLUSTER_ID_SIZE];
    char name[CLUSTER_NAME_SIZE];
    struct geodb_fm fm;
    bool recover_active; /* sites only */
};

static int fm_target_find(struct doveadm_ctx *ctx, bool site, const char *name,
                          struct fm_target *out)
{
    struct geodb_site s;
    struct geodb_backend b;
    int ex = site ? doveadm_site_find(ctx, name, &s) : doveadm_backend_find(ctx, name, &b);
    if (ex != DOVEADM_EX_OK)
        return ex;
    *out = (struct fm_target){.site = site,
                              .fm = site ? s.fm : b.fm,
                              .recover_active = site && s.recover_active};
    snprintf(out->id, sizeof(out->id), "%s", site ? s.id : b.id);
    snprintf(out->name, sizeof(out->name), "%s", site ? s.name : b.name);
    return DOVEADM_EX_OK;
}

/* Writes the target's force-move (NULL: none) in the command's
 * transaction. */
static int fm_target_set(struct doveadm_ctx *ctx, const struct fm_target *t,
                         const struct geodb_fm *fm, const char *what)
{
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    int rc = t->site ? geodb_site_set_fm(ctx->db, t->id, fm)
                     : geodb_backend_set_fm(ctx->db, t->id, fm);
    /* A site's force-move and its recovery replace each other. */
    if (rc == GEODB_OK && fm != NULL && t->recover_active)
        rc = geodb_site_set_recover(ctx->db, t->id, false, NULL, 0);
    return doveadm__geodb(ctx, rc, what);
}

static int fm_start(struct doveadm_ctx *ctx, const struct doveadm_args *args, bool site)
{
    struct fm_target t;
    struct geodb_fm fm = {.active = true};
    int ex = fm_pct_arg(ctx, args, &fm.pct);
    if (ex == DOVEADM_EX_OK)
        ex = fm_target_find(ctx, site, args->argv[0], &t);
    if (ex == DOVEADM_EX_OK)
        ex = fm_dests(ctx, args, site, t.id, &fm);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (t.fm.active)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                              "%s %s already has a force-move running; use update or stop",
                              site ? "Site" : "Backend", t.name);
    ex = id_option(ctx, args, fm.id);
    return ex == DOVEADM_EX_OK ? fm_target_set(ctx, &t, &fm, "start force-move") : ex;
}

/* update (pct >= 0 from argv[1]) or stop a running force-move. */
static int fm_change(struct doveadm_ctx *ctx, const struct doveadm_args *args, bool site,
                     bool stop)
{
    struct fm_target t;
    int pct = 0;
    int ex = stop ? DOVEADM_EX_OK : fm_pct_arg(ctx, args, &pct);
    if (ex == DOVEADM_EX_OK)
        ex = fm_target_find(ctx, site, args->argv[0], &t);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (!t.fm.active)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s %s has no force-move running",
                              site ? "Site" : "Backend", t.name);
    t.fm.pct = pct;
    return fm_target_set(ctx, &t, stop ? NULL : &t.fm,
                         stop ? "stop force-move" : "update force-move");
}

static int site_fm_start(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_start(ctx, args, true);
}

static int site_fm_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_change(ctx, args, true, false);
}

static int site_fm_stop(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_change(ctx, args, true, true);
}

static int backend_fm_start(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_start(ctx, args, false);
}

static int backend_fm_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_change(ctx, args, false, false);
}

static int backend_fm_stop(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    return fm_change(ctx, args, false, true);
}

/* `site recover` is documented by its synopsis only. clustersim makes it
 * the inverse of a force-move: users whose preferred site is NAME, living
 * elsewhere, are moved back at login when hash(id, user) in 0..99 is below
 * the percentage. Raising the percentage (same id) selects a superset; 0
 * ends the recovery. It replaces a force-move of the site, and a
 * force-move or status change replaces it, so the two never pull the same
 * users back and forth. */
static int site_recover(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site;
    int pct = 0;
    int ex = fm_pct_arg(ctx, args, &pct);
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_site_find(ctx, args->argv[0], &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    if (pct == 0)
        return doveadm__geodb(ctx, geodb_site_set_recover(ctx->db, site.id, false, NULL, 0),
                              "end recovery");
    char id[CLUSTER_ID_SIZE];
    if (doveadm_opt(args, "--id") == NULL && site.recover_active) {
        snprintf(id, sizeof(id), "%s", site.recover_id); /* a new percentage, same users */
    } else {
        ex = id_option(ctx, args, id);
        if (ex != DOVEADM_EX_OK)
            return ex;
    }
    int rc = geodb_site_set_recover(ctx->db, site.id, true, id, pct);
    if (rc == GEODB_OK && site.fm.active)
        rc = geodb_site_set_fm(ctx->db, site.id, NULL);
    return doveadm__geodb(ctx, rc, "start recovery");
}

/* What each site's proxies last found about the others' load balancers. */
static int site_reachability_list(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site src = {0}, dest = {0};
    int ex = DOVEADM_EX_OK;
    if (args->argc > 0)
        ex = doveadm_site_find(ctx, args->argv[0], &src);
    if (ex == DOVEADM_EX_OK && args->argc > 1)
        ex = doveadm_site_find(ctx, args->argv[1], &dest);
    if (ex != DOVEADM_EX_OK)
        return ex;
    enum { ROWS_MAX = CLUSTER_SITES_MAX * CLUSTER_SITES_MAX * 4 };
    struct geodb_reach *rows = malloc(sizeof(*rows) * ROWS_MAX);
    int n = 0;
    if (rows == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    ex = doveadm__geodb(ctx, geodb_reachability_list(ctx->db, rows, ROWS_MAX, &n),
                        "list reachability");
    static const char *const titles[] = {"src_site", "dest_site", "reachable", "checked_s"};
    struct fmt_table *table = ex == DOVEADM_EX_OK ? fmt_table_new(4, titles) : NULL;
    for (int i = 0; table != NULL && i < n; i++) {
        const struct geodb_reach *r = &rows[i];
        if ((src.id[0] && strcmp(r->src_site_id, src.id) != 0) ||
            (dest.id[0] && strcmp(r->dest_site_id, dest.id) != 0))
            continue;
        char from[CLUSTER_NAME_SIZE], to[CLUSTER_NAME_SIZE], at[24];
        doveadm_name_of(ctx, true, r->src_site_id, from, sizeof(from));
        doveadm_name_of(ctx, true, r->dest_site_id, to, sizeof(to));
        snprintf(at, sizeof(at), "%" PRId64, r->ts_us / 1000000);
        const char *row[] = {from, to, r->reachable ? "yes" : "no", at};
        doveadm__add_row(&table, row);
    }
    free(rows);
    if (ex != DOVEADM_EX_OK)
        return ex;
    return doveadm__print(ctx, table);
}

/* ---- backends ---- */

static int backend_add(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *name = NULL;
    int ex = target_name(ctx, args, ctx->backend_name, "cluster_backend_name", &name);
    if (ex != DOVEADM_EX_OK)
        return ex;
    const char *why = names_check_host(name);
    if (why != NULL)
        return doveadm__usage(ctx, args, "invalid backend name '%s': %s", name, why);
    const char *site_name = doveadm_opt(args, "--site");
    if (site_name == NULL)
        site_name = ctx->local_site[0] ? ctx->local_site : NULL;
    if (site_name == NULL)
        return doveadm__usage(ctx, args, "give --site or -o cluster_local_site=SITE");
    struct geodb_site site;
    ex = doveadm_site_find(ctx, site_name, &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    struct geodb_backend backend = {.status = BACKEND_STANDBY, .load_factor = 100}, other;
    snprintf(backend.name, sizeof(backend.name), "%s", name);
    snprintf(backend.site_id, sizeof(backend.site_id), "%s", site.id);
    if (geodb_backend_get(ctx->db, name, &other) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Backend %s already exists", name);
    ex = id_option(ctx, args, backend.id);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (geodb_backend_get_by_id(ctx->db, backend.id, &other) == GEODB_OK)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "Backend id %s already exists (%s)",
                              backend.id, other.name);
    int count = 0;
    int rc = geodb_backend_count(ctx->db, &count);
    if (rc != GEODB_OK || count >= CLUSTER_BACKENDS_MAX)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "at most %d backends",
                              CLUSTER_BACKENDS_MAX);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_backend_add(ctx->db, &backend), "add backend");
}

/* Load factor: digits only, 0..100. */
static int load_factor_arg(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                           const char *text, int *out)
{
    if (parse_pct(text, out) != 0)
        return doveadm__usage(ctx, args, "invalid load factor '%s': expected an integer 0..100",
                              text);
    return DOVEADM_EX_OK;
}

static int backend_update(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *status_word = doveadm_opt(args, "--status");
    const char *lf_text = doveadm_opt(args, "--load-factor");
    if (status_word == NULL && lf_text == NULL)
        return doveadm__usage(ctx, args, "nothing to update: give --status or --load-factor");
    int status = -1, lf = -1;
    if (status_word != NULL && (status = backend_status_parse(status_word)) < 0)
        return doveadm__usage(ctx, args,
                              "invalid status '%s': expected online, offline or standby",
                              status_word);
    int ex = DOVEADM_EX_OK;
    if (lf_text != NULL)
        ex = load_factor_arg(ctx, args, lf_text, &lf);
    const char *name = NULL;
    if (ex == DOVEADM_EX_OK)
        ex = target_name(ctx, args, ctx->backend_name, "cluster_backend_name", &name);
    struct geodb_backend backend;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_backend_find(ctx, name, &backend);
    if (ex != DOVEADM_EX_OK)
        return ex;
    int rc = GEODB_OK;
    if (status >= 0)
        rc = geodb_backend_set_status(ctx->db, backend.id, (enum backend_status)status);
    if (rc == GEODB_OK && lf >= 0)
        rc = geodb_backend_set_load_factor(ctx->db, backend.id, lf);
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, rc, "update backend");
}

static int backend_remove(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *name = NULL;
    int ex = target_name(ctx, args, ctx->backend_name, "cluster_backend_name", &name);
    struct geodb_backend backend;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_backend_find(ctx, name, &backend);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_TOPOLOGY;
    return doveadm__geodb(ctx, geodb_backend_remove(ctx->db, backend.id), "remove backend");
}

static int backend_rows(struct doveadm_ctx *ctx, const struct geodb_backend *backends, int n)
{
    struct user_counts *counts = user_counts_load(ctx);
    if (counts == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "cannot count users");
    static const char *const titles[] = {"id",          "name",  "site",      "status",
                                         "load_factor", "users", "force_move"};
    struct fmt_table *table = fmt_table_new(7, titles);
    for (int i = 0; table != NULL && i < n; i++) {
        const struct geodb_backend *b = &backends[i];
        struct geodb_site site = {0};
        if (geodb_site_get_by_id(ctx->db, b->site_id, &site) != GEODB_OK)
            snprintf(site.name, sizeof(site.name), "%s", b->site_id);
        char lf[8], users[24], fm[512];
        snprintf(lf, sizeof(lf), "%d", b->load_factor);
        snprintf(users, sizeof(users), "%" PRId64, user_counts_get(counts, b->id));
        fm_describe(ctx, &b->fm, false, fm, sizeof(fm));
        const char *row[] = {b->id, b->name, site.name, backend_status_name(b->status),
                             lf,    users,   fm};
        doveadm__add_row(&table, row);
    }
    free(counts);
    return doveadm__print(ctx, table);
}

static int backend_list(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *site_name = doveadm_opt(args, "--site");
    struct geodb_site site;
    if (site_name != NULL) {
        int ex = doveadm_site_find(ctx, site_name, &site);
        if (ex != DOVEADM_EX_OK)
            return ex;
    }
    struct geodb_backend *backends = malloc(sizeof(*backends) * CLUSTER_BACKENDS_MAX);
    if (backends == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    int n = 0;
    int ex = doveadm__geodb(ctx,
                            geodb_backend_list(ctx->db, site_name ? site.id : NULL, backends,
                                               CLUSTER_BACKENDS_MAX, &n),
                            "list backends");
    if (ex == DOVEADM_EX_OK)
        ex = backend_rows(ctx, backends, n);
    free(backends);
    return ex;
}

static int backend_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    const char *name = NULL;
    int ex = target_name(ctx, args, ctx->backend_name, "cluster_backend_name", &name);
    struct geodb_backend backend;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_backend_find(ctx, name, &backend);
    return ex == DOVEADM_EX_OK ? backend_rows(ctx, &backend, 1) : ex;
}

#define W DOVEADM_WRITE
#define R DOVEADM_READ

const struct doveadm_cmd doveadm_cluster_cmds[] = {
    {"cluster", "tag create", "[--id ID] NAME", "--id=", 1, 1, W, tag_create},
    {"cluster", "tag delete", "NAME|ID", "", 1, 1, W, tag_delete},
    {"cluster", "tag update", "--name NEW NAME|ID", "--name=", 1, 1, W, tag_update},
    {"cluster", "tag list", "", "", 0, 0, R, tag_list},
    {"cluster", "site add", "[--id ID] [--tag TAG] [--load-balancer HOST] NAME",
     "--id= --tag= --load-balancer=", 1, 1, W, site_add},
    {"cluster", "site update",
     "[--status online|offline|standby|evacuate] [--load-balancer HOST] NAME|--self",
     "--status= --load-balancer= --self", 0, 1, W, site_update},
    {"cluster", "site list", "", "", 0, 0, R, site_list},
    {"cluster", "site status", "NAME", "", 1, 1, R, site_status},
    {"cluster", "site remove", "NAME", "", 1, 1, W, site_remove},
    {"cluster", "site force-move start", "[--id ID] NAME PERCENTAGE DEST-SITE [DEST-SITE...]",
     "--id=", 3, -1, W, site_fm_start},
    {"cluster", "site force-move update", "NAME PERCENTAGE", "", 2, 2, W, site_fm_update},
    {"cluster", "site force-move stop", "NAME", "", 1, 1, W, site_fm_stop},
    {"cluster", "site recover", "[--id ID] NAME PERCENTAGE", "--id=", 2, 2, W, site_recover},
    {"cluster", "site reachability list", "[SRC-SITE [DEST-SITE]]", "", 0, 2, R,
     site_reachability_list},
    {"cluster", "backend add", "[--id ID] [--site SITE] NAME|--self", "--id= --site= --self", 0,
     1, W, backend_add},
    {"cluster", "backend update",
     "[--status online|offline|standby] [--load-factor 0..100] NAME|--self",
     "--status= --load-factor= --self", 0, 1, W, backend_update},
    {"cluster", "backend list", "[--site SITE]", "--site=", 0, 0, R, backend_list},
    {"cluster", "backend status", "NAME|--self", "--self", 0, 1, R, backend_status},
    {"cluster", "backend remove", "NAME|--self", "--self", 0, 1, W, backend_remove},
    {"cluster", "backend force-move start", "[--id ID] NAME PERCENTAGE DEST-HOST [DEST-HOST...]",
     "--id=", 3, -1, W, backend_fm_start},
    {"cluster", "backend force-move update", "NAME PERCENTAGE", "", 2, 2, W, backend_fm_update},
    {"cluster", "backend force-move stop", "NAME", "", 1, 1, W, backend_fm_stop},
};

const int doveadm_cluster_ncmds =
    (int)(sizeof(doveadm_cluster_cmds) / sizeof(doveadm_cluster_cmds[0]));
