/**
 * The instance's my.cnf. The server is started with `--defaults-file=` pointing at it, so no other
 * option file on the node (Debian's /etc/mysql/...) is read; it is rewritten at every start, so the
 * tuning follows the flavor after a resize and a hand edit never survives.
 */
import { CofferError } from '../../../core/errors.js'
import type { InstanceContext } from '../datastore.js'
import { renderInitConnect } from './access.js'
import type { MariadbTuning } from './tuning.js'

/** Where an instance's files are; all absolute. */
export interface MysqlFamilyPaths {
  readonly dataDir: string
  readonly logFile: string
  readonly tmpDir: string
  readonly socket: string
  readonly pidFile: string
  /** An empty folder the engine's account cannot write: the only place LOAD_FILE/OUTFILE may use. */
  readonly noFilesDir: string
  /** The binary logs' base name (`<volume>/binlog/binlog`: files binlog.000001..., binlog.index). */
  readonly binlogBase: string
}

/** Seconds the engine keeps a binary log; shipping (archive.ts) copies each within seconds of its close. */
export const BINLOG_EXPIRE_SECONDS = 3 * 24 * 3600

/** A server_id from the instance id (1 to 2^32 − 1), so that two instances' binary logs never share one. */
export function serverIdOf(instanceId: string): string {
  let h = 2166136261
  for (const c of instanceId) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  return String(h === 0 ? 1 : h)
}

/** A my.cnf value; refuses characters that could end the line or start a comment or another option. */
export function cnfValue(value: string): string {
  if (/[\r\n\0#;"'\\]/.test(value) || value.trim() !== value || value === '') {
    throw new CofferError('ENGINE_CONFIG_INVALID', `The my.cnf value ${JSON.stringify(value)} contains characters Coffer does not write.`, { retryable: false })
  }
  return value
}

/**
 * Settings every instance gets, whatever its flavor, that name no file, folder or address (so
 * they are also what a configuration-group parameter returns to when the group stops setting
 * it), and why:
 * - skip-name-resolve: accounts match by address only; `localhost` then means the unix socket.
 * - local_infile=0: clients cannot make the server read files from their side.
 * - InnoDB only, by default and for new tables (MariaDB's enforce_storage_engine, in the server's
 *   engineSettings); with NO_ENGINE_SUBSTITUTION a CREATE TABLE ... ENGINE=MyISAM fails loudly.
 * - utf8mb4 throughout: the compiled-in default is latin1.
 * - A small MyISAM key cache: clients cannot make MyISAM tables (the default 128M is 21 MB of idle PSS).
 */
export function cofferSettings(tuning: MariadbTuning, engineSettings: readonly (readonly [string, string])[]): (readonly [string, string])[] {
  return [
    ['skip-name-resolve', 'ON'],
    ['local_infile', '0'],
    ['default_storage_engine', 'InnoDB'],
    ['default_tmp_storage_engine', 'InnoDB'],
    ['character_set_server', 'utf8mb4'],
    ['collation_server', 'utf8mb4_unicode_ci'],
    ['default_time_zone', '+00:00'],
    ...Object.entries(tuning),
    ...engineSettings,
    // Durable commits: one fsync per commit, as InnoDB's default; relaxed only by a client's own configuration group.
    ['innodb_flush_log_at_trx_commit', '1'],
    ['performance_schema', 'OFF'],
    ['key_buffer_size', '8M'],
  ]
}

/** A configuration-group value as my.cnf holds it: booleans ON/OFF, an empty text as "". */
export function cnfSetting(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF'
  // The option-file parser strips one pair of quotes: `sql_mode = ""` is the empty mode.
  return value === '' ? '""' : cnfValue(String(value))
}

/** The key an option is known by in my.cnf, where `-` and `_` are the same. */
const optionKey = (name: string): string => name.replace(/-/g, '_')

/**
 * The whole my.cnf. `overrides` (option name → value already in my.cnf form, from a configuration
 * group) replace Coffer's line for the same option in place, so every option appears once; null
 * drops Coffer's line and leaves the option to the engine. Paths, addresses and
 * secure_file_priv are never overridden: callers pass only allow-listed names.
 * secure_file_priv: LOAD DATA INFILE, SELECT ... INTO OUTFILE and LOAD_FILE() work only in an
 * empty folder the engine cannot write, so they read and write nothing even for root.
 */
export function renderMyCnf(
  ctx: InstanceContext,
  tuning: MariadbTuning,
  paths: MysqlFamilyPaths,
  engineSettings: readonly (readonly [string, string])[],
  overrides: ReadonlyMap<string, string | null> = new Map(),
): string {
  const place: (readonly [string, string])[] = [
    ['datadir', paths.dataDir],
    ['tmpdir', paths.tmpDir],
    ['socket', paths.socket],
    ['pid-file', paths.pidFile],
    ['log-error', paths.logFile],
    ['port', String(ctx.port)],
    ['bind-address', ctx.bindAddress],
    ['secure_file_priv', paths.noFilesDir],
    // Binary logs, always on, for point-in-time restore (archive.ts ships them): row events replay exactly.
    ['log_bin', paths.binlogBase],
    ['server_id', serverIdOf(ctx.instanceId)],
    ['binlog_format', 'ROW'],
    ['binlog_expire_logs_seconds', String(BINLOG_EXPIRE_SECONDS)],
    // A replica's relay logs (replication.ts), in the data folder, named here, not after the host
    // name, which may change.
    ['relay_log', 'relay-bin'],
  ]
  const wanted = new Map([...overrides].map(([k, v]) => [optionKey(k), v]))
  const lines: string[] = place.map(([k, v]) => `${k} = ${cnfValue(v)}`)
  for (const [k, v] of cofferSettings(tuning, engineSettings)) {
    const override = wanted.get(optionKey(k))
    wanted.delete(optionKey(k))
    if (override === undefined) lines.push(`${k} = ${cnfValue(v)}`)
    else if (override !== null) lines.push(`${k} = ${override}`)
  }
  for (const [k, v] of wanted) if (v !== null) lines.push(`${k} = ${v}`)
  if (ctx.allowedCidrs) lines.push(`init_connect = ${renderInitConnect(ctx.allowedCidrs)}`)
  return `# Written by Coffer for instance ${ctx.instanceId}; rewritten at every start.\n[mysqld]\n${lines.join('\n')}\n`
}

/**
 * Settings only MariaDB understands, or only in this form (MySQL 8 has `disabled_storage_engines`
 * instead), or that only MariaDB's datastore needs (replication).
 */
export const MARIADB_ONLY_SETTINGS: readonly (readonly [string, string])[] = [
  // MariaDB's default; said here because no other option file is read. MySQL 8 has no NO_AUTO_CREATE_USER.
  ['sql_mode', 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION'],
  ['enforce_storage_engine', 'InnoDB'],
  // MariaDB still follows symbolic links in the data folder unless told not to (have_symlink).
  ['symbolic-links', '0'],
  // Aria holds the system tables and on-disk internal temporary tables; the default 128M cache is
  // 5 MB of idle PSS, and the OS page cache serves Aria's files as well.
  ['aria_pagecache_buffer_size', '16M'],
  // GTID replication (replication.ts). A replica logs what it applies, so once promoted its binary
  // log serves the other replicas.
  ['log_slave_updates', 'ON'],
  // A replica notices a silent source within seconds (the source's heartbeat is 1 s: CHANGE MASTER).
  ['slave_net_timeout', '10'],
  // A replica stops at a transaction out of order (one its source never had) instead of applying it
  // over diverged data; a source rejoining with transactions the new source lacks is refused, not
  // silently merged.
  ['gtid_strict_mode', 'ON'],
  // Every instance acknowledges to a semi-synchronous source when it replicates; only a source
  // told to (setSynchronous) waits for it. The setting is read when the replica's IO thread starts.
  ['rpl_semi_sync_slave_enabled', 'ON'],
]
