/**
 * The MariaDB parameters a configuration group may set, how a row of the engine's
 * `information_schema.SYSTEM_VARIABLES` becomes a catalog entry, and how values are written for
 * `SET GLOBAL` and for my.cnf. Pure.
 *
 * The allow-list is explicit: a parameter is offered only when it is named here AND the engine
 * reports it. Left out on purpose: anything naming a file or folder (datadir, tmpdir, plugin_dir,
 * secure_file_priv, general_log_file, slow_query_log_file, log_error, socket, pid_file, innodb_*
 * paths), where and how the engine listens (port, bind_address, skip_networking, extra_port,
 * proxy_protocol_networks), TLS and authentication (ssl_*, tls_version, secure_auth,
 * require_secure_transport, skip_grant_tables, skip_name_resolve), anything that runs code or
 * SQL of its own (init_connect, init_file, event_scheduler, allow_suspicious_udfs,
 * log_bin_trust_function_creators), reading client files (local_infile), Coffer's InnoDB-only
 * rule (default_storage_engine, default_tmp_storage_engine, enforce_storage_engine,
 * storage_engine), symbolic_links, what only `mariadb-install-db` may choose
 * (lower_case_table_names, innodb_page_size), replication (log_bin, server_id, read_only, ...: the
 * replication strategy owns them), general_log and log_output (Coffer's own statements carry
 * passwords; the general log and a TABLE-output slow log would show them to SQL clients), and
 * limits that would also bind Coffer's own service sessions, which cannot pin session values
 * (max_statement_time, lock_wait_timeout, sql_select_limit, max_join_size).
 *
 * Units: values are bare numbers in the engine's own unit, what `SET GLOBAL name = n` takes:
 * sizes in bytes (innodb_buffer_pool_size: 268435456, never "256M"), times in seconds unless the
 * description says otherwise. min and max are the engine's, in that unit.
 */
import type { ConfigurationValues, ParameterSpec, ParameterValue } from '../../../core/configuration.js'
import { cnfSetting, cnfValue } from './config.js'

type Unit = 'bytes' | 'seconds' | 'milliseconds' | 'percent' | ''

// name → unit of its bare number ('' for counts, switches and strings).
const PARAMETERS: Readonly<Record<string, Unit>> = {
  // Connections and timeouts
  max_connections: '', max_user_connections: '', max_connect_errors: '', back_log: '', thread_cache_size: '',
  wait_timeout: 'seconds', interactive_timeout: 'seconds', connect_timeout: 'seconds', net_read_timeout: 'seconds',
  net_write_timeout: 'seconds', idle_transaction_timeout: 'seconds', idle_readonly_transaction_timeout: 'seconds',
  idle_write_transaction_timeout: 'seconds', max_allowed_packet: 'bytes', net_buffer_length: 'bytes', max_prepared_stmt_count: '',
  // InnoDB
  innodb_buffer_pool_size: 'bytes', innodb_log_file_size: 'bytes', innodb_log_buffer_size: 'bytes',
  // A client's own choice to trade the last second of commits for speed; Coffer's my.cnf keeps 1.
  innodb_flush_log_at_trx_commit: '', innodb_lock_wait_timeout: 'seconds', innodb_io_capacity: '', innodb_io_capacity_max: '',
  innodb_file_per_table: '', innodb_read_io_threads: '', innodb_write_io_threads: '', innodb_purge_threads: '',
  innodb_max_dirty_pages_pct: 'percent', innodb_max_dirty_pages_pct_lwm: 'percent', innodb_adaptive_hash_index: '',
  innodb_adaptive_flushing: '', innodb_flush_neighbors: '', innodb_lru_scan_depth: '', innodb_old_blocks_time: 'milliseconds',
  innodb_print_all_deadlocks: '', innodb_deadlock_detect: '', innodb_strict_mode: '', innodb_default_row_format: '',
  innodb_autoinc_lock_mode: '', innodb_sort_buffer_size: 'bytes', innodb_rollback_on_timeout: '',
  innodb_online_alter_log_max_size: 'bytes', innodb_max_purge_lag: '',
  // Buffers and caches
  sort_buffer_size: 'bytes', join_buffer_size: 'bytes', read_buffer_size: 'bytes', read_rnd_buffer_size: 'bytes',
  bulk_insert_buffer_size: 'bytes', tmp_table_size: 'bytes', max_heap_table_size: 'bytes', table_open_cache: '',
  table_definition_cache: '', max_sort_length: 'bytes', group_concat_max_len: 'bytes',
  // Slow query log (to a file on the volume; log_output stays FILE) and diagnostics
  slow_query_log: '', long_query_time: 'seconds', log_queries_not_using_indexes: '', min_examined_row_limit: '',
  log_slow_verbosity: '', log_warnings: '', performance_schema: '',
  // SQL behaviour
  sql_mode: '', tx_isolation: '', autocommit: '', auto_increment_increment: '', auto_increment_offset: '',
  character_set_server: '', collation_server: '', time_zone: '', explicit_defaults_for_timestamp: '',
  div_precision_increment: '', default_week_format: '', lc_time_names: '', max_sp_recursion_depth: '',
  max_recursive_iterations: '', eq_range_index_dive_limit: '', optimizer_search_depth: '',
}

/** Names clients may set (lower case, as the catalog shows them); everything else stays Coffer's. */
export const MARIADB_PARAMETERS: ReadonlySet<string> = new Set(Object.keys(PARAMETERS))

/**
 * my.cnf option names that differ from the variable's name: 10.11's `tx_isolation` is set at
 * start by `transaction-isolation`, `time_zone` by `default-time-zone` (there is no option named
 * like either variable).
 */
const CNF_NAMES: Readonly<Record<string, string>> = { tx_isolation: 'transaction_isolation', time_zone: 'default_time_zone' }

/** The my.cnf option that sets an allow-listed variable at start. */
export const cnfName = (name: string): string => CNF_NAMES[name] ?? name

/** The columns of information_schema.SYSTEM_VARIABLES the catalog is made from (all text). */
export interface MariadbVariableRow {
  /** Lower case. */
  readonly name: string
  /** GLOBAL, SESSION (global and session) or SESSION ONLY. */
  readonly scope: string
  /** INT, BIGINT, INT UNSIGNED, BIGINT UNSIGNED, DOUBLE, BOOLEAN, ENUM, SET, FLAGSET or VARCHAR. */
  readonly type: string
  readonly min: string | null
  readonly max: string | null
  readonly enumValues: string | null
  /** YES when only my.cnf (a restart) can change it. */
  readonly readOnly: string
  readonly defaultValue: string | null
  readonly comment: string | null
}

/** The query that reads the rows above. */
export const SYSTEM_VARIABLES_QUERY = `SELECT LOWER(VARIABLE_NAME) AS name, VARIABLE_SCOPE AS scope, VARIABLE_TYPE AS type,
  NUMERIC_MIN_VALUE AS min, NUMERIC_MAX_VALUE AS max, ENUM_VALUE_LIST AS enumValues, READ_ONLY AS readOnly,
  DEFAULT_VALUE AS defaultValue, VARIABLE_COMMENT AS comment
  FROM information_schema.SYSTEM_VARIABLES ORDER BY VARIABLE_NAME`

// Many bounds are 2^64 − 1; JSON and JavaScript numbers are exact only to 2^53 − 1.
const bound = (text: string | null): number | undefined => {
  const n = text === null ? NaN : Number(text)
  return Number.isFinite(n) ? Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n)) : undefined
}

/** The values the engine knows for the text variables that name something, read beside SYSTEM_VARIABLES. */
export interface MariadbNames {
  readonly characterSets: readonly string[]
  readonly collations: readonly string[]
  /** What lc_time_names takes (information_schema.LOCALES, else the list in locales.ts). */
  readonly locales: readonly string[]
  /** Named time zones: empty unless the server's time zone tables are loaded. */
  readonly timeZones: readonly string[]
}

/** The queries that read MariadbNames, each giving rows of `name`. */
export const NAMES_QUERIES: Readonly<Record<keyof MariadbNames, string>> = {
  characterSets: 'SELECT CHARACTER_SET_NAME AS name FROM information_schema.CHARACTER_SETS ORDER BY 1',
  collations: 'SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS ORDER BY 1',
  locales: 'SELECT NAME AS name FROM information_schema.LOCALES ORDER BY ID',
  timeZones: 'SELECT Name AS name FROM mysql.time_zone_name ORDER BY 1',
}

/**
 * Adds the `utf8` names the engine also takes while its old_mode has UTF8_IS_UTF8MB3 (10.11's
 * default), though information_schema lists only the `utf8mb3` ones.
 */
export function withUtf8Aliases(names: MariadbNames, oldMode: string): MariadbNames {
  if (!oldMode.split(',').includes('UTF8_IS_UTF8MB3')) return names
  const alias = (n: string): string[] => (n === 'utf8mb3' || n.startsWith('utf8mb3_') ? [n, n.replace(/^utf8mb3/, 'utf8')] : [n])
  return { ...names, characterSets: names.characterSets.flatMap(alias), collations: names.collations.flatMap(alias) }
}

// What SET GLOBAL time_zone takes besides SYSTEM and named zones: 10.11 refuses -13:00 and +13:01.
const OFFSET = '[+-](?:0?[0-9]|1[0-2]):[0-5][0-9]|\\+13:00'
const OFFSET_FORMAT = 'an offset from UTC written +HH:MM, from -12:59 to +13:00 (such as +02:00)'

/** Text variables whose values are names the engine lists, or a format of their own. */
const NAMED: Readonly<Record<string, (n: MariadbNames) => Partial<ParameterSpec>>> = {
  character_set_server: (n) => ({ allowed: n.characterSets }),
  collation_server: (n) => ({ allowed: n.collations }),
  lc_time_names: (n) => ({ allowed: n.locales }),
  time_zone: (n) => ({ allowed: ['SYSTEM', ...n.timeZones], pattern: OFFSET, format: OFFSET_FORMAT }),
}

/**
 * One catalog entry from a row; undefined for SESSION ONLY variables, FLAGSET (optimizer_switch)
 * and any text variable whose values Coffer cannot check (no list in the row, none in `names`).
 * MariaDB compares every text value here regardless of case.
 */
export function toParameterSpec(row: MariadbVariableRow, names?: MariadbNames): ParameterSpec | undefined {
  if (row.scope === 'SESSION ONLY') return undefined
  const unit = PARAMETERS[row.name] ? ` Unit: ${PARAMETERS[row.name]}.` : ''
  const sessions = row.scope === 'SESSION' ? ' Takes effect in new sessions.' : ''
  const description = `${row.comment ?? ''}${unit}${sessions}`.trim()
  const base = { name: row.name, restartRequired: row.readOnly === 'YES', ...(description ? { description } : {}) }
  const min = bound(row.min)
  const max = bound(row.max)
  const range = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }
  const text = { ...base, type: 'string' as const, ignoreCase: true }
  switch (row.type) {
    case 'INT':
    case 'BIGINT':
    case 'INT UNSIGNED':
    case 'BIGINT UNSIGNED':
      return { ...base, type: 'integer', ...range }
    case 'DOUBLE':
      return { ...base, type: 'float', ...range }
    case 'BOOLEAN':
      return { ...base, type: 'boolean' }
    case 'ENUM':
    case 'SET':
    case 'VARCHAR': {
      // character_set_server, collation_server and lc_time_names are ENUMs without a list.
      const named = NAMED[row.name]
      if (named) return names ? { ...text, ...named(names) } : undefined
      if (!row.enumValues) return undefined
      const list = row.enumValues.split(',')
      return row.type === 'SET' ? { ...text, items: list } : row.type === 'ENUM' ? { ...text, allowed: list } : undefined
    }
    default:
      return undefined
  }
}

/** The catalog: the allow-listed variables the engine reported, sorted by name. */
export function catalogFromVariables(rows: readonly MariadbVariableRow[], names?: MariadbNames): ParameterSpec[] {
  return rows
    .filter((row) => MARIADB_PARAMETERS.has(row.name))
    .map((row) => toParameterSpec(row, names))
    .filter((spec): spec is ParameterSpec => spec !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

const SUFFIX: Readonly<Record<string, number>> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }

const TEXT_TYPES = new Set(['ENUM', 'SET', 'VARCHAR'])

/**
 * A value as `SET GLOBAL` takes it for a variable of SYSTEM_VARIABLES type `type`: booleans as
 * ON/OFF; for numeric and boolean variables a my.cnf text as a number ("256M" → 268435456 bytes,
 * "100" → 100: the engine refuses a quoted '100' for a number); text variables' values as they are.
 */
export function sqlValue(value: ParameterValue, type: string): string | number {
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF'
  if (typeof value === 'number' || TEXT_TYPES.has(type)) return value
  const m = /^(\d+(?:\.\d+)?)([KMG])?$/i.exec(value)
  return m ? Number(m[1]) * (SUFFIX[(m[2] ?? '').toUpperCase()] ?? 1) : value
}

/** True when two values mean the same to the engine ("ON" and 1, "4M" and 4194304, "utf8mb4" and "UTF8MB4"). */
export function sameValue(a: ParameterValue, b: ParameterValue): boolean {
  const norm = (v: ParameterValue): string => {
    const s = String(sqlValue(v, 'BIGINT')).toLowerCase()
    if (['on', 'true', 'yes'].includes(s)) return '1'
    if (['off', 'false', 'no'].includes(s)) return '0'
    return s
  }
  return norm(a) === norm(b)
}

/**
 * Overrides as my.cnf options (config.ts renderMyCnf). Names not on today's allow-list are
 * skipped, not refused: the file was valid when written, and a start must not fail on it. A
 * character set without a collation drops Coffer's collation line: the engine then takes the
 * set's default collation, as SET GLOBAL character_set_server does live.
 */
export function cnfOverrides(values: ConfigurationValues): Map<string, string | null> {
  const out = new Map<string, string | null>()
  for (const [name, value] of Object.entries(values)) if (MARIADB_PARAMETERS.has(name)) out.set(cnfName(name), cnfSetting(value))
  if ('character_set_server' in values && !('collation_server' in values)) out.set('collation_server', null)
  return out
}

const cnfWritable = (text: string): boolean => {
  try {
    return cnfValue(text) === text
  } catch {
    return false
  }
}

/** Values MariaDB's own range checks let through but Coffer refuses: a message for the first one found, else undefined. */
export function refused(values: Readonly<Record<string, ParameterValue>>, ramMb: number): string | undefined {
  for (const [name, value] of Object.entries(values)) {
    if (!MARIADB_PARAMETERS.has(name)) return `The configuration parameter ${name} is not supported for this datastore: MariaDB.`
    // Every value is also written to my.cnf for the next start, which must not fail on it.
    if (typeof value === 'string' && value !== '' && !cnfWritable(value)) {
      return `The value for the configuration parameter ${name} has characters or spaces that MariaDB's option file cannot hold.`
    }
  }
  // Bytes; the whole of RAM leaves nothing for connections, sorts and the OS, and the engine is killed.
  const pool = values['innodb_buffer_pool_size']
  const limit = Math.floor(ramMb * 0.75) * 2 ** 20
  if (typeof pool === 'number' && pool > limit) {
    return `The value ${pool} for the configuration parameter innodb_buffer_pool_size (bytes) is more than 75% of this instance's memory: ${limit}.`
  }
  return undefined
}
