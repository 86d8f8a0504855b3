/*
 * Move supervision, bounded to CTL_STUCK_MOVES_MAX moves per run (the
 * rest wait for the next run, five seconds later).
 */
#include "movesup.h"

#include <assert.h>

int movesup_run(struct controller *c)
{
    uint32_t users[CTL_STUCK_MOVES_MAX];
    int attempts[CTL_STUCK_MOVES_MAX];
    int64_t now_s = controller__now(c) / 1000;
    int n = c->store.stuck_moves(c->store.ctx, now_s - c->settings->move_timeout_s, users,
                                 attempts, CTL_STUCK_MOVES_MAX);
    if (n < 0)
        return -1;
    assert(n <= CTL_STUCK_MOVES_MAX);
    int retried = 0, forced = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        assert(attempts[i] >= 0);
        if (attempts[i] < c->settings->move_retries) {
            int rc = c->actions.retry_move(c->actions.ctx, users[i]);
            retried += rc == 0;
            failed += rc != 0;
        } else {
            int rc = c->actions.force_move(c->actions.ctx, users[i]);
            forced += rc == 0;
            failed += rc != 0;
        }
    }
    assert(retried + forced + failed == n);
    if (retried > 0)
        controller__event(c, CTL_EV_MOVES_RETRIED, -1, false,
                          "%d moves not finished after %lld s: accessed the users again",
                          retried, (long long)c->settings->move_timeout_s);
    if (forced > 0)
        controller__event(c, CTL_EV_MOVES_FORCED, -1, false,
                          "%d moves still stuck after %lld retries: forced in the GeoDB", forced,
                          (long long)c->settings->move_retries);
    if (failed > 0) /* they stay stuck, so the next run tries them again */
        controller__event(c, CTL_EV_TASK_FAILED, -1, false,
                          "%d stuck moves could not be retried or forced: next run tries again",
                          failed);
    return 0;
}
