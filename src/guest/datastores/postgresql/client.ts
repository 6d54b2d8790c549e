/**
 * Connections to an instance as the service account, over the private unix socket in runDir
 * (pg_hba rejects that account over TCP). SQL built here quotes identifiers with
 * `client.escapeIdentifier` and literals with `client.escapeLiteral`; passwords never enter logs
 * or error messages.
 */
import pg from 'pg'
import type { InstanceContext } from '../datastore.js'
import { SERVICE_USER } from './manifest.js'

/** A connected client; end it with `client.end()`. */
export type PgClient = pg.Client

/** Opens a client to `database` as the service account; rejects when the login fails. */
export async function openClient(ctx: InstanceContext, password: string, database = 'postgres', timeoutMs = 10_000): Promise<PgClient> {
  const client = new pg.Client({
    host: ctx.runDir,
    port: ctx.port,
    user: SERVICE_USER,
    password,
    database,
    application_name: 'coffer',
    connectionTimeoutMillis: timeoutMs,
  })
  // A backend that goes away (engine stopped) emits 'error'; without a listener that would end Coffer.
  client.on('error', () => undefined)
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => undefined)
    throw err
  }
  return client
}

/** True when nothing answers on the socket: the engine is down or not listening yet. */
export const isUnreachable = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P03'].includes(code)
}

/** True when a login failed on the password (SQLSTATE 28P01), as opposed to the engine being down. */
export const isWrongPassword = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === '28P01'
