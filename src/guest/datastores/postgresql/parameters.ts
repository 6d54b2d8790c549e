/**
 * The PostgreSQL parameters a configuration group may set, and how a pg_settings row becomes a
 * catalog entry. Pure.
 *
 * The allow-list is explicit: a parameter is offered only when it is named here AND the engine
 * reports it. Left out on purpose: anything naming a file or folder (data_directory, hba_file,
 * log_directory, ...), where and how the engine listens (listen_addresses, port, unix_socket_*),
 * TLS and authentication (ssl*, password_encryption, krb_*), anything that loads code or runs a
 * program (*_preload_libraries, dynamic_library_path, archive_command, restore_command, ...),
 * durability switches Coffer promises to keep (fsync, full_page_writes, synchronous_commit),
 * replication (wal_level, max_wal_senders: the replication strategy owns them), settings that
 * would lock Coffer's own service account out of its work (default_transaction_read_only,
 * superuser_reserved_connections) and the logging layout Coffer relies on.
 *
 * Units: values are bare numbers in the unit pg_settings reports for the parameter (kB for
 * work_mem, 8kB pages for shared_buffers, ms for statement_timeout, ...), exactly what
 * `ALTER SYSTEM SET name = n` takes; min and max are in that unit too. The unit is named only in
 * the entry's description.
 */
import type { ParameterSpec } from '../../../core/configuration.js'

/** Names clients may set; everything else in pg_settings stays Coffer's. */
export const POSTGRESQL_PARAMETERS: ReadonlySet<string> = new Set([
  // Memory
  'shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'autovacuum_work_mem',
  'hash_mem_multiplier', 'temp_buffers', 'logical_decoding_work_mem', 'temp_file_limit',
  // Connections and timeouts
  'max_connections', 'tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'statement_timeout',
  'lock_timeout', 'deadlock_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout',
  // Planner
  'random_page_cost', 'seq_page_cost', 'cpu_tuple_cost', 'cpu_index_tuple_cost', 'cpu_operator_cost',
  'effective_io_concurrency', 'maintenance_io_concurrency', 'default_statistics_target', 'from_collapse_limit',
  'join_collapse_limit', 'jit', 'plan_cache_mode',
  // Parallel query
  'max_worker_processes', 'max_parallel_workers', 'max_parallel_workers_per_gather', 'max_parallel_maintenance_workers',
  'parallel_setup_cost', 'parallel_tuple_cost', 'min_parallel_table_scan_size',
  // Autovacuum and vacuum
  'autovacuum', 'autovacuum_max_workers', 'autovacuum_naptime', 'autovacuum_vacuum_threshold',
  'autovacuum_vacuum_scale_factor', 'autovacuum_vacuum_insert_threshold', 'autovacuum_vacuum_insert_scale_factor',
  'autovacuum_analyze_threshold', 'autovacuum_analyze_scale_factor', 'autovacuum_vacuum_cost_delay',
  'autovacuum_vacuum_cost_limit', 'autovacuum_freeze_max_age', 'vacuum_cost_delay', 'vacuum_cost_limit',
  // WAL, checkpoints, background writer
  'wal_buffers', 'min_wal_size', 'max_wal_size', 'wal_keep_size', 'checkpoint_timeout', 'checkpoint_completion_target',
  'wal_compression', 'bgwriter_delay', 'bgwriter_lru_maxpages',
  // Logging and statistics
  'log_min_duration_statement', 'log_statement', 'log_min_error_statement', 'log_duration', 'log_connections',
  'log_disconnections', 'log_lock_waits', 'log_temp_files', 'log_checkpoints', 'log_autovacuum_min_duration',
  'track_io_timing', 'track_functions', 'track_activity_query_size',
  // Locks, transactions, storage
  'max_locks_per_transaction', 'max_prepared_transactions', 'default_transaction_isolation', 'default_toast_compression',
])

/** The columns of pg_settings the catalog is made from (as the pg driver returns them). */
export interface PgSettingRow {
  readonly name: string
  /** bool, integer, real, string or enum. */
  readonly vartype: string
  /** postmaster, sighup, superuser-backend, backend, superuser, user or internal. */
  readonly context: string
  readonly unit: string | null
  readonly min_val: string | null
  readonly max_val: string | null
  readonly enumvals: readonly string[] | null
  readonly short_desc: string | null
}

/** The query that reads the rows above; run as a superuser, which sees every parameter. */
export const PG_SETTINGS_QUERY = 'SELECT name, vartype, context, unit, min_val, max_val, enumvals, short_desc FROM pg_settings ORDER BY name'

// backend and superuser-backend parameters cannot change inside a running session, but a reload
// gives every new session the new value: no restart. Only postmaster ones need the engine restarted.
const restartRequired = (context: string): boolean => context === 'postmaster'

const bound = (text: string | null): number | undefined => {
  const n = text === null ? NaN : Number(text)
  return Number.isFinite(n) ? n : undefined
}

/**
 * One catalog entry from a pg_settings row; undefined for a vartype Coffer does not know, and for
 * free-text (`string`) parameters, whose values Coffer has no list or format to check.
 */
export function toParameterSpec(row: PgSettingRow): ParameterSpec | undefined {
  const unit = row.unit ? ` Unit: ${row.unit}.` : ''
  const sessions = row.context === 'backend' || row.context === 'superuser-backend' ? ' Takes effect in new sessions.' : ''
  const description = `${row.short_desc ?? ''}${unit}${sessions}`.trim()
  const base = { name: row.name, restartRequired: restartRequired(row.context), ...(description ? { description } : {}) }
  const min = bound(row.min_val)
  const max = bound(row.max_val)
  const range = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }
  switch (row.vartype) {
    case 'bool':
      return { ...base, type: 'boolean' }
    case 'integer':
      return { ...base, type: 'integer', ...range }
    case 'real':
      return { ...base, type: 'float', ...range }
    case 'enum':
      // PostgreSQL compares enum values regardless of case ('DDL' is ddl).
      return row.enumvals ? { ...base, type: 'string', allowed: [...row.enumvals], ignoreCase: true } : undefined
    default:
      return undefined
  }
}

/** The catalog: the allow-listed parameters the engine reported, sorted by name. */
export function catalogFromSettings(rows: readonly PgSettingRow[]): ParameterSpec[] {
  return rows
    .filter((row) => POSTGRESQL_PARAMETERS.has(row.name))
    .map(toParameterSpec)
    .filter((spec): spec is ParameterSpec => spec !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Values the engine's own range check lets through but that would stop it from starting, or make
 * no sense for the flavor: a message for the first one found, else undefined. ALTER SYSTEM checks
 * each value alone; these depend on other settings or on the instance's RAM.
 */
export function unstartable(values: Readonly<Record<string, unknown>>, ramMb: number): string | undefined {
  const maxConnections = values['max_connections']
  // PostgreSQL refuses to start unless max_connections exceeds superuser_reserved_connections
  // (3, which Coffer leaves alone); a few more keep room for Coffer's own sessions.
  if (typeof maxConnections === 'number' && maxConnections < 10) {
    return `The value ${maxConnections} for the configuration parameter max_connections is less than the minimum Coffer allows: 10.`
  }
  const sharedBuffers = values['shared_buffers']
  // In 8 kB pages; the whole of RAM leaves nothing for sessions, sorts or the OS cache.
  const limit = Math.floor((ramMb * 1024 * 0.75) / 8)
  if (typeof sharedBuffers === 'number' && sharedBuffers > limit) {
    return `The value ${sharedBuffers} for the configuration parameter shared_buffers (8kB pages) is more than 75% of this instance's memory: ${limit}.`
  }
  return undefined
}

/** A value as PostgreSQL's configuration files and ALTER SYSTEM take it (before quoting). */
export const settingText = (value: string | number | boolean): string =>
  typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)
