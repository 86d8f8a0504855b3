/*
 * libFuzzer target: the scenario loader. Any input must load or be refused
 * with a message; neither may crash, leak or trip a sanitizer. A loaded
 * scenario's user and backend names are expanded too, since a run does
 * that next.
 *
 * struct scenario is large (a quarter of a megabyte): one is kept for the
 * whole run, since allocating it per input (an mmap under ASan) cost more
 * than the load itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scenario scn_buf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *scn = &scn_buf;
    char err[512];
    if (scenario_load_buffer("fuzz.json", (const char *)data, size, scn, err, sizeof(err)) == 0) {
        char name[512];
        for (int i = 0; i < scn->nsites; i++) {
            for (int g = 0; g < scn->sites[i].ngroups; g++)
                scenario_backend_name(&scn->sites[i].groups[g], 0, name, sizeof(name));
        }
        if (scn->users.count > 0)
            scenario_user_name(&scn->users, scn->users.count - 1, name, sizeof(name));
        scenario_free(scn);
    } else if (err[0] == '\0') {
        fprintf(stderr, "scenario refused without a message\n");
        abort();
    }
    return 0;
}
