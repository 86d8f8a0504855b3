/*
 * Load figures are doubles: they are what Prometheus would report, and the
 * controller's z-scores are statistics of them. Decisions elsewhere compare
 * integers. Noise is relative and drawn from the backend's own stream, so
 * adding a backend does not change another backend's noise.
 */
#include "sim/world/backend.h"

#include <assert.h>

#include "core/settings.h"

static double ppm_value(int64_t ppm)
{
    return (double)ppm / PPM;
}

static double with_noise(struct world_backend *b, double value, const struct sim_params *p)
{
    double sigma = ppm_value(p->noise_ppm);
    double noisy = value * (1.0 + rng_gaussian(&b->noise, sigma));
    if (noisy < 0.0)
        noisy = 0.0;
    return noisy > 100.0 ? 100.0 : noisy;
}

void backend_measure(struct world_backend *b, uint32_t sessions, double deliveries_per_s,
                     double handovers_per_s, const struct sim_params *p, struct prom_sample *out)
{
    assert(b->cpu_cores > 0 && b->memory_gb > 0 && b->metacache_gb > 0);
    assert(handovers_per_s >= 0);
    double cores = ppm_value(p->cpu_base_ppm) + ppm_value(p->cpu_session_ppm) * sessions +
                   ppm_value(p->cpu_delivery_ppm) * deliveries_per_s +
                   ppm_value(p->cpu_handover_ppm) * handovers_per_s;
    double cpu = 100.0 * cores * b->slow / b->cpu_cores;
    double mem_mb = (double)p->mem_base_mb + (double)p->mem_session_mb * sessions +
                    ppm_value(p->mem_user_ppm) * b->resident;
    double memory = 100.0 * mem_mb / (b->memory_gb * 1024.0);
    double mc_mb = ppm_value(p->metacache_user_ppm) * b->resident_weight;
    double metacache = 100.0 * mc_mb / (b->metacache_gb * 1024.0);
    b->cpu = with_noise(b, cpu, p);
    b->memory = with_noise(b, memory, p);
    b->metacache = with_noise(b, metacache, p);
    out->gauges_valid = !b->crashed;
    out->gauges[GAUGE_CPU] = b->cpu;
    out->gauges[GAUGE_MEMORY] = b->memory;
    out->gauges[GAUGE_METACACHE] = b->metacache;
}
