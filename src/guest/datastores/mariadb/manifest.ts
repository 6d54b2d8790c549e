/**
 * What this node offers of MariaDB: the server found at /usr/sbin/mariadbd and the rules for
 * names. Also describes the server to the rest of the family code (`MysqlFamilyServer`), so that
 * the MySQL datastore can reuse every part with its own binaries.
 */
import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { DatastoreVersionInfo, NameRules } from '../../../core/manifest.js'
import type { DiscoveredManifest } from '../define-datastore.js'
import type { OsAccount } from '../datastore.js'

const run = promisify(execFile)

/** The service account Coffer itself logs in as, only over the instance's private socket. */
export const SERVICE_USER = 'coffer_admin'

/** The account replicas replicate as (replication.ts): REPLICATION SLAVE and CLIENT, at any host. */
export const REPLICATION_USER = 'coffer_repl'

/**
 * One server of the MySQL family (MariaDB or MySQL) as the shared code needs to know it. The
 * differences between the two are data here, not subclasses.
 */
export interface MysqlFamilyServer {
  /** Datastore name, also the prefix of the node's template folder. */
  readonly name: 'mariadb' | 'mysql'
  /** The server binary to run. */
  readonly serverBinary: string
  /** `comm` of the running server in /proc (the binary's file name, truncated to 15 characters). */
  readonly processName: string
  /**
   * Initialises the empty data folder `dataDir` (owned by `account`) as `account`, running
   * `statements` once the system tables exist and before any server listens on a network.
   * Rejects when initialisation fails. The folder holding `dataDir` is Coffer's, mode 0711.
   */
  readonly initialise: (dataDir: string, statements: readonly string[], account: OsAccount) => Promise<void>
  /** my.cnf lines only this server understands, e.g. MariaDB's enforce_storage_engine. */
  readonly engineSettings: readonly (readonly [string, string])[]
}

/**
 * Names are always quoted (backticks), so hyphens are safe. A database is also a folder whose name
 * MariaDB encodes, a hyphen as the five bytes `@002d`: at most 47 hyphens keep a 64-character name
 * within the file system's 255 bytes (measured: 64 hyphens fail with "File name too long").
 * 64 is the shorter of MariaDB's limits (databases 64, users 80).
 */
/**
 * What both MySQL-family engines say about access and memory: allowed_cidrs held by init_connect
 * (access.ts, IPv4 only), a 256 MB floor (InnoDB's 64 MB pool and the server around it), and the
 * buffers that are reserved at start.
 */
export const MYSQL_FAMILY_LIMITS = {
  accessFamilies: [4],
  minRamMb: 256,
  memoryParameters: { innodb_buffer_pool_size: 1, key_buffer_size: 1, innodb_log_buffer_size: 1 },
} as const satisfies Pick<DiscoveredManifest, 'accessFamilies' | 'minRamMb' | 'memoryParameters'>

export const mariadbNames: NameRules = {
  maxLength: 64,
  pattern: '(?!(?:[^-]*-){48})[A-Za-z_][A-Za-z0-9_-]*',
  patternText: 'use letters, digits, underscores and hyphens (at most 47 hyphens), and start with a letter or underscore',
  reservedDatabases: ['mysql', 'information_schema', 'performance_schema', 'sys', 'test'],
  // public and none name MariaDB's PUBLIC role and SET ROLE NONE; mariadb.sys owns the sys views.
  reservedUsers: ['root', 'mariadb.sys', 'mysql', SERVICE_USER, REPLICATION_USER, 'public', 'none', 'current_user', 'current_role', 'mysql.sys', 'mysql.session', 'mysql.infoschema'],
  passwordMaxLength: 256,
}

/** A server's own account of its version, read from `<binary> --version`. */
export interface ServerVersion {
  readonly product: 'mariadb' | 'mysql'
  /** Full number, e.g. "10.11.19". */
  readonly number: string
}

/**
 * Parses `--version` output: "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ..."
 * or "mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)". Undefined when it is
 * neither.
 */
export function parseServerVersion(text: string): ServerVersion | undefined {
  const m = /\bVer\s+(\d+\.\d+\.\d+)(\S*)/.exec(text)
  if (!m?.[1]) return undefined
  return { product: /mariadb/i.test(text) ? 'mariadb' : 'mysql', number: m[1] }
}

/** Runs `<binary> --version`; undefined when the binary is missing, not executable or unparseable. */
export async function serverVersion(binary: string): Promise<ServerVersion | undefined> {
  try {
    await access(binary, constants.X_OK)
    // --version only prints and exits, so it is allowed as root.
    const { stdout } = await run(binary, ['--version'], { timeout: 10_000 })
    return parseServerVersion(stdout)
  } catch {
    return undefined
  }
}

/** "10.11.19" → { name: "10.11", versionNumber: "10.11.19" }. */
export const versionInfo = (number: string): DatastoreVersionInfo => ({ name: number.split('.').slice(0, 2).join('.'), versionNumber: number })

/** Where Debian's mariadb-server puts the server. */
export const MARIADB_SERVER_BINARY = '/usr/sbin/mariadbd'
/** MariaDB's data folder initialiser (the template is built with it). */
export const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db'

/** Looks for MariaDB's server and installer. Never throws: none found means none offered. */
export async function discoverMariadb(): Promise<DiscoveredManifest> {
  const found = await serverVersion(MARIADB_SERVER_BINARY)
  const installer = await access(MARIADB_INSTALL_DB, constants.X_OK).then(() => true, () => false)
  const versions = found?.product === 'mariadb' && installer ? [versionInfo(found.number)] : []
  return { name: 'mariadb', defaultPort: 3306, versions, names: mariadbNames, userHosts: true, ...MYSQL_FAMILY_LIMITS }
}
