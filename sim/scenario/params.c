/*
 * Defaults of the simulator's settings, each with the reason it has the
 * value it has. The model constants are chosen so that a default cluster
 * sits at 40-60% CPU at the diurnal peak, where balancing matters.
 */
#include "sim/scenario/params.h"

#include <stdio.h>
#include <string.h>

static const char *const placement_words[] = {"hrw", "least_users", NULL};
static const char *const yes_no_words[] = {"no", "yes", NULL};
static const char *const target_words[] = {"stored", "least_loaded", NULL};
static const char *const unreachable_words[] = {"fail", "failover", NULL};
static const char *const source_moves_words[] = {"wait", "finish", NULL};

#define SIM(field) offsetof(struct sim_params, field)

const struct setting_def sim_params_table[] = {
    {"PLACEMENT_RULE", SETTING_ENUM, SIM(placement_rule), PLACEMENT_HRW, 0, 1, placement_words,
     "", "How a proxy places a user who has no location yet.",
     "Undocumented for the per-user era; a load-factor-weighted rendezvous hash over the "
     "site's online backends is deterministic, needs no coordination between proxies, and "
     "moves only 1/(n+1) of new placements when a backend is added."},
    {"USER_MOVE_DURATION_MS", SETTING_INT, SIM(move_duration_ms), 2000, 0, 600000, NULL, "ms",
     "Time the source backend needs to finish a move once the user is accessed.",
     "Undocumented; a metacache flush of one user takes seconds."},
    {"MOVE_REFERRAL_MEMORY_SECS", SETTING_INT, SIM(move_memory_s), 3600, 0, 86400, NULL, "s",
     "How long a source backend keeps referring a moved user.",
     "Documented: the source remembers a finished move for up to one hour."},
    {"GEODB_FLUSH_INTERVAL_MS", SETTING_INT, SIM(flush_interval_ms), 5000, 100, 3600000, NULL,
     "ms", "How often the in-memory user cache is written to the GeoDB file (one transaction).",
     "Batching keeps SQLite off the hot path; five seconds matches the controller's fastest "
     "task."},
    {"BACKEND_NOISE_RATIO", SETTING_RATIO, SIM(noise_ppm), 20000, 0, 1000000, NULL, "ratio",
     "Relative standard deviation of the noise on CPU, memory and metacache samples.",
     "2% is the jitter of a steady host's utilisation."},
    {"PROMETHEUS_RETENTION_SECS", SETTING_INT, SIM(prom_retention_s), 1800, 60, 86400, NULL, "s",
     "History the synthetic Prometheus keeps per series (sample counts are kept forever).",
     "Longer than every window the controller reads."},
    {"WORKLOAD_TICK_MS", SETTING_INT, SIM(workload_tick_ms), 1000, 10, 60000, NULL, "ms",
     "Granularity at which login and delivery arrivals are drawn (arrival times keep "
     "millisecond precision inside a tick).",
     "One second keeps per-tick work tiny while the diurnal curve is smooth."},
    {"SESSIONS_PER_USER_MAX", SETTING_INT, SIM(sessions_per_user_max), 8, 1, 64, NULL,
     "sessions", "Concurrent IMAP sessions one user may hold; a login beyond it replaces the "
     "oldest.",
     "Mail clients keep a few connections per user; bounds the session pool."},
    {"PROXY_CHECK_BACKENDS", SETTING_ENUM, SIM(proxy_check_backends), 1, 0, 1, yes_no_words, "",
     "cluster_proxy_check_backends: whether proxies probe backends and set unreachable ones "
     "offline (and back online when they answer again).",
     "Documented default: yes."},
    {"PROXY_CHECK_INTERVAL_MS", SETTING_INT, SIM(proxy_check_interval_ms), 10000, 1000, 3600000,
     NULL, "ms", "How often each site's proxies probe the site's backends.",
     "Undocumented; ten seconds, dovemon's poll interval."},
    {"PROXY_CHECK_FAILURES", SETTING_INT, SIM(proxy_check_failures), 3, 1, 1000, NULL, "checks",
     "Consecutive unreachable checks before proxies set a backend offline.",
     "Undocumented; three, as dovemon's retry count, so a blip does not fail users over."},
    {"PROXY_PROBES_PER_CHECK", SETTING_INT, SIM(probes_per_check), 3, 1, 100, NULL, "logins",
     "Probe-user logins in one backend check; the check succeeds only if all do.",
     "A check of several logins keeps a backend failing most logins from passing by luck."},
    {"PROXY_STATS_INTERVAL_MS", SETTING_INT, SIM(proxy_stats_interval_ms), 300000, 1000, 86400000,
     NULL, "ms",
     "How often each proxy writes its per-destination counters to proxy_dest_stats.",
     "Undocumented; five minutes keeps the table current for operators without a write per "
     "login."},
    {"BATCH_MOVES_PER_SEC", SETTING_INT, SIM(batch_moves_per_s), 100, 1, 1000000, NULL,
     "users/s",
     "How many moves of a `user batch move` are triggered per second (the rest wait, marked "
     "moving, and may finish earlier at the user's next login).",
     "Undocumented; the documentation warns that an immediate evacuation loads the source "
     "backend heavily, so a bound in the spirit of director's --max-parallel."},
    {"FAILOVER_TARGET", SETTING_ENUM, SIM(failover_target), TARGET_STORED, 0, 1, target_words, "",
     "Where a proxy sends a user whose backend takes no connections, and where a move whose "
     "destination is a site lands: the target computed when the record was written and "
     "stored in it (alt_backend_id), or the least loaded backend in the acting proxy's own "
     "view at that moment.",
     "Documented mechanism: every proxy knows alt_backend_id, so concurrent or duplicate "
     "failovers write the same values and a split-brain merge does not relocate users. "
     "least_loaded is the naive alternative, kept to measure what the mechanism buys."},
    {"SITE_UNREACHABLE", SETTING_ENUM, SIM(site_unreachable), UNREACHABLE_FAIL, 0, 1,
     unreachable_words, "",
     "What a proxy does with a user whose site it cannot reach (a partition, a site whose "
     "load balancer is down): fail the access, or fail the user over to its own site.",
     "Current documentation: site reachability is monitored, never acted on automatically; "
     "site failover is an operator's decision (site status offline). failover models the "
     "group-era behaviour."},
    {"UNREACHABLE_SOURCE_MOVES", SETTING_ENUM, SIM(unreachable_source_moves), 0, 0, 1,
     source_moves_words, "",
     "A moving user whose source backend's site cannot be reached (a partition): wait, and "
     "treat the access like any whose site is unreachable (SITE_UNREACHABLE); or finish the "
     "move at once from this side, as for a source that went offline.",
     "palomar.md 5.3: \"it is the source backend's responsibility to finish the move\"; only a "
     "source set offline or standby lets the next access finish it, because every proxy then "
     "knows alt_backend_id. A partitioned source is alive and may finish the move on its own "
     "side, so finishing it here too would write the user twice."},
    {"ROAMING_RATIO", SETTING_RATIO, SIM(roaming_ppm), 0, 0, 1000000, NULL, "ratio",
     "Share of accesses that enter through another site's front door than the user's home "
     "site (clients on another continent, DNS caches).",
     "Zero by default so that single-site results do not depend on it; split-brain scenarios "
     "set it, since roaming is what makes both sides write the same users."},
    {"GEODB_REPAIR_USERS_PER_SEC", SETTING_INT, SIM(repair_users_per_s), 5000, 1, 100000000,
     NULL, "users/s",
     "Rate at which a replica replays the writes it missed while partitioned (hinted "
     "handoff), per replica.",
     "Cassandra throttles hint delivery (hinted_handoff_throttle, 1 MB/s per node by "
     "default); at about 200 bytes per user record that is some 5000 users a second."},
    {"MERGE_WATCH_SECS", SETTING_INT, SIM(merge_watch_s), 3600, 60, 86400, NULL, "s",
     "Window after a heal in which users changing location twice are counted (the chaos a "
     "merge must not cause).",
     "The balancing cool time: no user should move twice within it."},
    {"GEODB_STATS_DELTAS", SETTING_ENUM, SIM(stats_deltas), 1, 0, 1, yes_no_words, "",
     "Whether proxy_dest_stats replicates as deltas (each site's rows written since the "
     "target last had them) or as whole-table merges. Both give the same bytes; no exists to "
     "check that.",
     "Cassandra replicates mutations, not tables; whole-table merges re-read every site's "
     "rows at every delivery, a fifth of bench-1200's time."},
    {"DOVEMON_INTERVAL_MS", SETTING_INT, SIM(dovemon_interval_ms), 10000, 1000, 3600000, NULL,
     "ms", "Director mode: how often dovemon polls each backend.",
     "Documented for dovemon: every 10 seconds."},
    {"DOVEMON_FAILURES", SETTING_INT, SIM(dovemon_failures), 3, 1, 100, NULL, "polls",
     "Director mode: failed polls in a row before dovemon polls rapidly.",
     "Documented for dovemon: after 3 failures."},
    {"DOVEMON_RAPID_POLLS", SETTING_INT, SIM(dovemon_rapid_polls), 10, 1, 1000, NULL, "polls",
     "Director mode: rapid polls dovemon makes before deciding.", "Documented: 10 rapid polls."},
    {"DOVEMON_RAPID_FAILURES", SETTING_INT, SIM(dovemon_rapid_failures), 7, 1, 1000, NULL,
     "polls",
     "Director mode: failed rapid polls that make dovemon mark the host down and flush it.",
     "Documented: 7 failures of the 10."},
    {"DOVEMON_RAPID_INTERVAL_MS", SETTING_INT, SIM(dovemon_rapid_interval_ms), 1000, 100, 60000,
     NULL, "ms", "Director mode: time between dovemon's rapid polls.",
     "Undocumented; one second makes \"rapid\" ten times the normal rate."},
    {"MODEL_CPU_BASE_CORES", SETTING_RATIO, SIM(cpu_base_ppm), 500000, 0, 1000 * 1000000LL, NULL,
     "cores", "CPU an idle backend uses.", "Daemons, index maintenance: half a core."},
    {"MODEL_CPU_CORES_PER_SESSION", SETTING_RATIO, SIM(cpu_session_ppm), 4000, 0, 1000000,
     NULL, "cores",
     "CPU per active IMAP session.",
     "Mostly idle IMAP IDLE connections; puts a default backend near 50% CPU at the daily "
     "peak."},
    {"MODEL_CPU_CORES_PER_DELIVERY_PER_SEC", SETTING_RATIO, SIM(cpu_delivery_ppm), 50000, 0,
     100 * 1000000LL, NULL, "cores", "CPU per LMTP delivery per second.",
     "About 50 ms of CPU per delivery."},
    {"MODEL_CPU_CORES_PER_HANDOVER_PER_SEC", SETTING_RATIO, SIM(cpu_handover_ppm), 200000, 0,
     100 * 1000000LL, NULL, "cores",
     "CPU on a source backend per user it hands over per second (the destination pulls the "
     "user's metacache from it), averaged over the scrape interval.",
     "Seed 004 warns that an immediate evacuation \"can potentially increase the load on the "
     "source backend significantly if many backends are pulling metacache from it at the "
     "same time\"; 200 ms of CPU per pull of about 10 MB. A force move of 1500 users shows "
     "as about 20 cores for one scrape; moves spread over logins cost next to nothing."},
    {"MODEL_MEMORY_BASE_MB", SETTING_INT, SIM(mem_base_mb), 4096, 0, 1 << 24, NULL, "MB",
     "Memory an idle backend uses.", "Page cache and daemons."},
    {"MODEL_MEMORY_MB_PER_SESSION", SETTING_INT, SIM(mem_session_mb), 8, 0, 1 << 20, NULL, "MB",
     "Memory per active IMAP session.", "An imap process with its indexes mapped."},
    {"MODEL_MEMORY_MB_PER_USER", SETTING_RATIO, SIM(mem_user_ppm), 500000, 0, 1000 * 1000000LL,
     NULL, "MB", "Memory per user whose metacache lives on the backend.",
     "Cached index headers."},
    {"MODEL_METACACHE_MB_PER_USER", SETTING_RATIO, SIM(metacache_user_ppm), 10 * 1000000LL, 0,
     100000 * 1000000LL, NULL, "MB",
     "Metacache per user living on the backend, scaled by the user's activity weight.",
     "Active users keep more index data hot; 10 MB at mean activity."},
};

const int sim_params_count = (int)(sizeof(sim_params_table) / sizeof(sim_params_table[0]));

int params_known(const char *name)
{
    return settings_find(ctl_settings_table, ctl_settings_count, name) != NULL ||
           settings_find(sim_params_table, sim_params_count, name) != NULL;
}

int params_set(struct ctl_settings *ctl, struct sim_params *sim, const char *name,
               const char *text, char *err, size_t err_size)
{
    const struct setting_def *def = settings_find(ctl_settings_table, ctl_settings_count, name);
    if (def != NULL)
        return settings_apply(def, ctl, text, err, err_size);
    def = settings_find(sim_params_table, sim_params_count, name);
    if (def != NULL)
        return settings_apply(def, sim, text, err, err_size);
    snprintf(err, err_size, "unknown setting '%s' (see the settings table in README.md)", name);
    return -1;
}
