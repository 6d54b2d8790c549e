/**
 * MariaDB settings derived from the flavor. Pure. Common practice for a server that has the
 * machine to itself (MariaDB's and Percona's guidance), scaled down for small flavors, where the
 * server's own overhead and per-connection buffers take a larger share of RAM.
 */

/** CPU and RAM of an instance (the parts of a flavor tuning looks at). */
export interface Flavor {
  readonly ramMb: number
  readonly vcpus: number
}

/** Setting name → value as written in my.cnf ("256M", "100"). */
export type MariadbTuning = Readonly<Record<string, string>>

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n))
/** Rounds down to a multiple of `step`. */
const floorTo = (n: number, step: number): number => Math.floor(n / step) * step

/**
 * Settings for a flavor (sizes in MB):
 * - innodb_buffer_pool_size: half of RAM up to 2 GB, then RAM − 1 GB, at most 75 % of RAM; whole
 *   16 MB, at least 64 MB. 512 MB → 256M, 4 GB → 3072M, 16 GB → 12288M.
 * - innodb_log_file_size: 1/16 of the pool, 16M to 1G. Small by default because the redo log
 *   dominates a template copy and start (16M: 0.28 s, 96M: 0.54 s); the template is built with
 *   16M and a larger flavor's first start resizes it once.
 * - max_connections: 50 + 1 per 10 MB, rounded to tens, 50 to 1000 (512 MB → 100, 1 GB → 150,
 *   MariaDB's default 151). Idle threads are cheap; what they may allocate is bounded below.
 * - tmp_table_size = max_heap_table_size (the smaller of the two wins): RAM/64, 16M to 256M.
 * - innodb_log_buffer_size: RAM/128, 4M to 64M (MariaDB's default 16M at 2 GB). The buffer is
 *   touched whole at start, so it is idle memory: 16M → 4M saves 12 MB PSS at 512 MB (measured).
 * vCPUs change nothing yet: MariaDB's thread-per-connection model needs no per-CPU setting.
 */
export function mariadbTuning(flavor: Flavor): MariadbTuning {
  const ram = Math.max(1, Math.floor(flavor.ramMb))
  const pool = Math.max(64, floorTo(Math.min(ram * 0.75, Math.max(ram * 0.5, ram - 1024)), 16))
  const log = clamp(floorTo(pool / 16, 16), 16, 1024)
  const tmp = clamp(floorTo(ram / 64, 16), 16, 256)
  const logBuffer = clamp(floorTo(ram / 128, 4), 4, 64)
  return {
    innodb_buffer_pool_size: `${pool}M`,
    innodb_log_file_size: `${log}M`,
    innodb_log_buffer_size: `${logBuffer}M`,
    max_connections: String(clamp(Math.round((50 + ram / 10) / 10) * 10, 50, 1000)),
    tmp_table_size: `${tmp}M`,
    max_heap_table_size: `${tmp}M`,
  }
}

/** The size in MB of a value like "256M" (for tests and for the template's own log size). */
export const megabytes = (value: string | undefined): number => {
  const m = /^(\d+)M$/.exec(value ?? '')
  if (!m) throw new Error(`not a size in MB: ${value}`)
  return Number(m[1])
}
