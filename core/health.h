/*
 * check_backend_health (every 60 s): failure ratio = failed logins and
 * deliveries / attempts over HOST_FAILURE_WINDOW_SECS, not judged below
 * HOST_FAILURE_MIN_LOGINS attempts.
 *
 * - Above HOST_FAILURE_CRITICAL_RATIO (90%): critical. Each cycle moves
 *   HOST_FAILURE_CRITICAL_BATCH_RATIO (20%) of the user count the backend
 *   had when it turned critical (not of what is left, which would never
 *   finish), and sets it offline once it is empty.
 * - Above HOST_FAILURE_RATIO: degraded. Moves
 *   HOST_FAILURE_DEGRADED_BATCH_RATIO of its users, no more often than
 *   HOST_FAILURE_COOL_TIME_SECS, never users moved within the balancing
 *   cool time.
 * - Catastrophe protection: when more than HOST_FAILURE_BACKEND_NUM_THRESHOLD
 *   percent of the site's online backends fail at once, nothing is
 *   evacuated or set offline, and the event is logged every cycle. It
 *   lingers one failure window after the last detection, so that the
 *   catastrophe's own failure data does not trigger evacuations after it.
 * - An offline backend whose checks succeed HOST_RECOVERY_SUCCESSES times
 *   in a row is set online; balancing then refills it.
 * Each cycle also counts the controller's own backend checks
 * (dovecot_cluster_backend_check_finished_total and _failure_total).
 */
#ifndef HEALTH_H
#define HEALTH_H

#include "controller.h"

/* The classification of one backend's outcomes, on integers only. */
enum ctl_health_state health_classify(const struct ctl_settings *s,
                                      const struct ctl_outcomes *outcomes,
                                      int64_t *ratio_ppm);

/* The state after a check. Each check is classified against the
 * documented thresholds alone, except that a check with too few attempts
 * to judge (HOST_FAILURE_MIN_LOGINS) is no new judgement: a failing
 * backend keeps its state (an evacuated backend gets little traffic). With
 * HOST_FAILURE_HYSTERESIS on, a critical backend also stays critical until
 * its ratio is back to HOST_FAILURE_RATIO or below. */
enum ctl_health_state health_next(const struct ctl_settings *s, enum ctl_health_state current,
                                  enum ctl_health_state fresh);

/* Whether the controller knows the backend to be failing, so that it is
 * neither balanced nor a destination of moved users: judged degraded or
 * critical, or failing more than HOST_FAILURE_RATIO of the attempts seen in
 * the window even when they are too few to judge, or its last check
 * failed, or any of these within the last HOST_FAILURE_DISTRUST_SECS. HOST_FAILURE_MIN_LOGINS gates actions against a backend (moving
 * its users, setting it offline), never this. */
bool health_known_failing(const struct ctl_settings *s, const struct ctl_backend_state *st,
                          int64_t now_ms);

/* Users to move this cycle off a critical backend that had users0 users
 * when it turned critical and has users now: ceil(batch ratio x users0),
 * at most users. */
uint32_t health_critical_batch(const struct ctl_settings *s, uint32_t users0, uint32_t users);

/* Whether failing of n backends engages catastrophe protection. */
bool health_catastrophe(const struct ctl_settings *s, int failing, int n);

int health_run(struct controller *c);

#endif
