/*
 * A run's report directory: timeseries.csv, sites.csv, replicas.csv,
 * moves.csv, events.csv, expectations.csv, summary.csv, the final GeoDB
 * file(s), and what sim/report/ makes from them (metrics.om, report.html). Everything is written into a staging directory (outdir.h) that
 * is put in place only when the run finished and every write succeeded, so
 * a killed or failed run never leaves a report that looks complete.
 * report_seal computes a digest of everything written.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_FILES_MAX 32
#define REPORT_DIGEST_SIZE 33

struct report;

struct report *report_open(const char *dir, char *err, size_t err_size);
/* Closes and deletes every temporary file (a run that did not finish). */
void report_abort(struct report *r);
/* Closes the CSV files and checks that every write succeeded, so that they
 * can be read back (report.html and metrics.om are made from them). Returns
 * 0, or -1 with err naming the file (r is then aborted and freed). */
int report_close(struct report *r, char *err, size_t err_size);
/* report_close, then computes the digest of every file but the undigested
 * ones (final names and bytes, in name order) as hex.
 * Returns 0 (then call report_commit or report_abort), or -1 with err
 * naming the file (r is then aborted and freed). */
int report_seal(struct report *r, char digest[REPORT_DIGEST_SIZE], char *err, size_t err_size);
/* report_seal in two steps, so that report.html can be read from the
 * staged files while the digest is made on another thread:
 * report_seal_files closes and seals (a lean report's GeoDB files go; -1:
 * r is aborted and freed, as by report_close); report_digest only reads
 * (others may read the staged files meanwhile, none may register one)
 * and on failure leaves r to the caller to abort. */
int report_seal_files(struct report *r, char *err, size_t err_size);
int report_digest(const struct report *r, char digest[REPORT_DIGEST_SIZE], char *err,
                  size_t err_size);
/* Puts a sealed report in place under its final names and frees r.
 * Returns 0, or -1 with err set (r is then aborted). */
int report_commit(struct report *r, char *err, size_t err_size);
/* report_seal, then report_commit. */
int report_finish(struct report *r, char digest[REPORT_DIGEST_SIZE], char *err,
                  size_t err_size);

/* overrides.csv: one row per --set argument ("KEY=VALUE", in order) with
 * its kind (is_path: "scenario", else "setting"), key and value. Written
 * only when n > 0, so the report (and digest) of a run without overrides
 * is what it always was. -1 when the file cannot be created. */
int report_overrides(struct report *r, int n, const char *const *args, const bool *is_path);

/* A lean report drops its GeoDB files (*.sqlite) at report_seal: the
 * finished report holds only the CSV files, and the digest covers only
 * them. */
void report_set_lean(struct report *r, bool lean);

/* The digest of a finished report directory, computed as report_seal
 * does (every file's name and bytes, in name order): a sweep checks with
 * it that a report it finds is the one a run printed. 0, or -1 when the
 * directory or a file cannot be read. */
int report_dir_digest(const char *dir, char digest[REPORT_DIGEST_SIZE]);

/* A file another module writes (the GeoDB): its staged path goes into path.
 * -1 when the name or the path does not fit, or there are too many files. */
int report_register(struct report *r, const char *name, char *tmp_path, size_t size);
/* The same for a file left out of the digest: report.html, which shows the
 * digest and so cannot be part of it. It may be registered after
 * report_seal, before report_commit. */
int report_register_undigested(struct report *r, const char *name, char *tmp_path, size_t size);
/* Where a registered file (e.g. "timeseries.csv") is staged; NULL if none. */
const char *report_staged_path(const struct report *r, const char *name);

/* One row per backend per sample interval. */
struct report_backend_row {
    int64_t time_ms;
    const char *site;
    const char *backend;
    const char *status;
    int load_factor;
    int64_t users;
    int64_t sessions;
    int64_t resident;
    double cpu;
    double memory;
    double metacache;
    int64_t logins_ok;
    int64_t logins_failed;
    int64_t deliveries_ok;
    int64_t deliveries_failed;
    int64_t redirects;
    int64_t moves_in;
    int64_t moves_out;
    /* the controller's view */
    const char *health;      /* unknown, ok, degraded, critical */
    int64_t failure_ratio_ppm; /* -1: not judged (empty) */
    bool scored;
    double score;
    int64_t host_users;      /* dovecot_cluster_controller_host_users; -1: not exported */
    int64_t checks_online;   /* dovecot_cluster_backend_check_finished_total{status=...} */
    int64_t checks_offline;
    int64_t check_failures;  /* dovecot_cluster_backend_check_failure_total */
};
void report_backend(struct report *r, const struct report_backend_row *row);

/* One row per site per sample interval. */
struct report_site_row {
    int64_t time_ms;
    const char *site;
    const char *status;
    int backends;
    int online;
    int64_t users;
    int64_t sessions;
    int desired_backends;
    double imbalance;
    bool catastrophe;
    /* accesses counted at the site in this interval (see struct world_site) */
    int64_t logins;
    int64_t logins_failed;
    int64_t deliveries;
    int64_t deliveries_failed;
};
void report_site(struct report *r, const struct report_site_row *row);

/* One row per GeoDB replica per sample interval: how far it lags. */
struct report_replica_row {
    int64_t time_ms;
    const char *replica;     /* the site that owns it */
    int group;               /* its partition group (0 when not partitioned) */
    int64_t users;           /* users with a location in it */
    int64_t moving;          /* users it says are moving */
    int64_t stale;           /* users whose newest write it has not received */
    int64_t hinted;          /* ... of which hints wait for a partition to heal */
    int64_t in_flight;       /* its own writes not yet delivered to the others */
    const char *unreachable; /* sites its proxies last found unreachable */
};
void report_replica(struct report *r, const struct report_replica_row *row);

/* director.csv (director mode only): the director's host table after every
 * timeline `doveadm director` command. */
int report_open_director(struct report *r);
void report_director(struct report *r, int64_t time_ms, const char *command, const char *host,
                     const char *backend, const char *tag, unsigned vhosts, bool down,
                     uint32_t users);

void report_event(struct report *r, int64_t time_ms, const char *site, const char *source,
                  const char *kind, const char *subject, bool dryrun, const char *detail);
void report_move(struct report *r, int64_t time_ms, const char *user, const char *reason,
                 const char *from_site, const char *from_backend, const char *to_site,
                 const char *to_backend, const char *completion, int64_t requested_s);
void report_expectation(struct report *r, int64_t time_ms, int line, const char *subject,
                        const char *assertion, const char *expected, const char *actual,
                        bool ok);

/* The one-row summary: parallel arrays of column names and values. */
void report_summary(struct report *r, int n, const char *const *names,
                    const char *const *values);

#endif
