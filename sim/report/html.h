/*
 * report.html: one self-contained page (inline CSS and SVG, no script, no
 * network) that shows what a run did, for people who open a report rather
 * than load its CSVs: users, load, failures and moves over time with the
 * run's events drawn over them, replica lag, site states, expectations,
 * and how to replay the run.
 */
#ifndef HTML_H
#define HTML_H

#include <stddef.h>
#include <stdint.h>

#include "sim/base/report.h"
#include "sim/scenario/scenario.h"

struct html_run {
    const struct scenario *scn;
    uint64_t seed;
    const char *replay;  /* the command that replays the run */
    const char *digest;  /* the run's digest (of every file but report.html) */
    int expectations, failed;
    int noverrides;      /* settings the scenario or --set changed: "NAME=VALUE (where)" */
    const char *const *overrides;
    int nparams;         /* every setting in effect: "NAME=VALUE" */
    const char *const *params;
};

/* report.html, from the report's closed CSV files, in two steps so that
 * they can be read while the digest is made on another thread (the page
 * shows the digest, so it is left out of it): html_read reads them into a
 * page (after report_seal_files; NULL with err set on failure; run must
 * outlive the page), html_finish writes report.html with run->digest as
 * it is then and frees the page (0, or -1 with err set); html_discard
 * frees a page not written. */
struct html_page;
struct html_page *html_read(struct report *r, const struct html_run *run, char *err,
                            size_t err_size);
int html_finish(struct html_page *pg, char *err, size_t err_size);
void html_discard(struct html_page *pg);

#endif
