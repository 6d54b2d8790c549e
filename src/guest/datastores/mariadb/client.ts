/**
 * Connections to an instance as the service account, over the private unix socket in runDir (the
 * account exists only at `localhost`, which under skip-name-resolve matches nothing but that
 * socket), and the quoting every statement built here goes through. Values are escaped by
 * mysql2 (`?`), identifiers by `ident` (never `??`, which would split `a.b` into two names).
 * Passwords never enter logs or error messages.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import * as mysql from 'mysql2/promise'
import type { InstanceContext } from '../datastore.js'
import { SERVICE_USER } from './manifest.js'

/** A connected client; close it with `client.end()`. */
export type MysqlClient = mysql.Connection

/**
 * The session sql_mode of every service connection, whatever the global one. mysql2 escapes
 * quotes in values with backslashes, which NO_BACKSLASH_ESCAPES would turn into an injection (a
 * client with root may set it globally); NO_AUTO_CREATE_USER keeps a GRANT from creating a user
 * without a password.
 */
const SET_SERVICE_SQL_MODE = `SET SESSION sql_mode = CONCAT('STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION',
  IF(VERSION() LIKE '%MariaDB%', ',NO_AUTO_CREATE_USER', ''))`

/** The instance's private socket. */
export const socketPath = (ctx: InstanceContext): string => join(ctx.runDir, 'mysqld.sock')

/** Opens a client as the service account; rejects when the login fails. */
export async function openClient(ctx: InstanceContext, password: string, timeoutMs = 10_000): Promise<MysqlClient> {
  const client = await mysql.createConnection({
    socketPath: socketPath(ctx),
    user: SERVICE_USER,
    password,
    connectTimeout: timeoutMs,
    multipleStatements: false,
    charset: 'UTF8MB4_UNICODE_CI',
    supportBigNumbers: true,
    bigNumberStrings: true,
  })
  // A server that goes away emits 'error'; without a listener that would end Coffer.
  client.on('error', () => undefined)
  try {
    await client.query(SET_SERVICE_SQL_MODE)
    // CREATE USER / ALTER USER carry passwords in clear; a slow query log a group turned on
    // must never record the service account's statements.
    await client.query('SET SESSION slow_query_log = OFF')
    // Nor a general log (guest logs): sql_log_off keeps this session's statements out of it.
    await client.query('SET SESSION sql_log_off = ON')
  } catch (err) {
    client.destroy()
    throw err
  }
  return client
}

/** True when the server answered and refused the login, as opposed to not answering at all. */
export const isAccessDenied = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_ACCOUNT_HAS_BEEN_LOCKED'
}

/** True when nothing answered on the socket: no server there (yet), or it went away. */
export const isUnreachable = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code
  // ENGINE_UNREACHABLE: the same, already typed by withService (service-account.ts).
  return typeof code === 'string' && ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EAGAIN', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ENGINE_UNREACHABLE'].includes(code)
}

/** A quoted identifier (database name) usable anywhere: backticks doubled, dots kept inside. */
export const ident = (name: string): string => mysql.escapeId(name, true)

/** An account `'name'@'host'`; both parts escaped as string literals. */
export const account = (name: string, host: string): string => mysql.format('?@?', [name, host])

/**
 * The database part of a GRANT or REVOKE, `db`.*: `_` and `%` in a database name are wildcards
 * there (a grant on `shop_db` would also open `shopXdb`), so they and `\` are escaped first.
 */
export const grantTarget = (database: string): string => `${ident(database.replace(/[\\_%]/g, '\\$&'))}.*`

/** The database name a mysql.db row stands for, undoing grantTarget's escapes. */
export const unescapeGrantDb = (db: string): string => db.replace(/\\(.)/g, '$1')

const isMariadb = new WeakMap<MysqlClient, boolean>()

/**
 * `IDENTIFIED BY ...` for `password`. MariaDB writes CREATE/ALTER USER to the binary log as sent,
 * and the binary log is a file on the tenant's volume (and is replayed by point-in-time restore),
 * so on MariaDB the password goes as its mysql_native_password hash (`*` + SHA1(SHA1(password))),
 * which is what mysql.global_priv holds anyway. MySQL logs only the hash by itself.
 */
export async function identifiedBy(c: MysqlClient, password: string): Promise<string> {
  let mariadb = isMariadb.get(c)
  if (mariadb === undefined) {
    const [rows] = await c.query<(mysql.RowDataPacket & { v: string })[]>('SELECT VERSION() AS v')
    mariadb = /mariadb/i.test(rows[0]?.v ?? '')
    isMariadb.set(c, mariadb)
  }
  if (!mariadb) return c.format('IDENTIFIED BY ?', [password])
  return c.format('IDENTIFIED BY PASSWORD ?', [nativePasswordHash(password)])
}

/** The mysql_native_password hash of `password`, as mysql.user shows it: `*` + SHA1(SHA1(password)) in upper-case hex. */
export function nativePasswordHash(password: string): string {
  const sha1 = (data: Buffer | string): Buffer => createHash('sha1').update(data).digest()
  return `*${sha1(sha1(Buffer.from(password, 'utf8'))).toString('hex').toUpperCase()}`
}
