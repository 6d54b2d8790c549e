/**
 * PostgreSQL settings derived from the flavor. Pure. The rules follow common practice (PGTune, the
 * PostgreSQL wiki): a quarter of RAM for shared buffers, three quarters assumed as OS cache, and
 * per-sort memory small enough that every connection sorting at once (three sorts each) still fits.
 */

export interface Flavor {
  readonly ramMb: number
  readonly vcpus: number
}

/** Setting name → value as written in postgresql.conf, with units ("128MB", "1310kB"). */
export type PostgresqlTuning = Readonly<Record<string, string>>

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n))

/** kB → "NMB" when whole megabytes, else "NkB" (PostgreSQL's memory units are powers of 1024). */
export const memory = (kb: number): string => (kb % 1024 === 0 ? `${kb / 1024}MB` : `${kb}kB`)

/**
 * Settings for a flavor:
 * - max_connections: 100 per 512 MB, rounded to tens, between 20 and 500 (each idle connection
 *   costs ~1 MB; a pooler is the answer beyond 500).
 * - shared_buffers: 25% of RAM, at least 32 MB.
 * - effective_cache_size: 75% of RAM.
 * - work_mem: (RAM − shared_buffers) / (3 × max_connections), between 1 MB and 64 MB.
 * - maintenance_work_mem: RAM / 16, between 16 MB and 2 GB.
 * - parallel workers: one per vCPU; half of them per query, at most 4.
 */
export function postgresqlTuning(flavor: Flavor): PostgresqlTuning {
  const ramKb = Math.max(1, Math.floor(flavor.ramMb)) * 1024
  const vcpus = Math.max(1, Math.floor(flavor.vcpus))
  const maxConnections = clamp(Math.round(flavor.ramMb / 51.2) * 10, 20, 500)
  // Whole megabytes keep the figures readable; PostgreSQL rounds to 8 kB pages anyway.
  const mb = (kb: number): number => Math.floor(kb / 1024) * 1024
  const sharedBuffers = Math.max(32 * 1024, mb(ramKb / 4))
  const workMem = clamp(Math.floor((ramKb - sharedBuffers) / (3 * maxConnections)), 1024, 64 * 1024)
  return {
    max_connections: String(maxConnections),
    shared_buffers: memory(sharedBuffers),
    effective_cache_size: memory(mb((ramKb * 3) / 4)),
    work_mem: memory(workMem),
    maintenance_work_mem: memory(clamp(mb(ramKb / 16), 16 * 1024, 2 * 1024 * 1024)),
    max_worker_processes: String(Math.max(8, vcpus)),
    max_parallel_workers: String(vcpus),
    max_parallel_workers_per_gather: String(Math.min(4, Math.floor(vcpus / 2))),
  }
}
