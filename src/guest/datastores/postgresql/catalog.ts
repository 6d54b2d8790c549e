/** Small lookups in PostgreSQL's catalogs and the guard against touching the engine's own names. */
import { BadRequest } from '../../../core/errors.js'
import type { PgClient } from './client.js'
import { postgresqlNames } from './manifest.js'

/**
 * Throws BadRequest for names the datastore keeps for itself. The API checks names first; this is
 * the guest's own last line, so a bug upstream can never drop the service account.
 */
export function refuseReserved(kind: 'database' | 'user', name: string): void {
  const reserved = kind === 'database' ? postgresqlNames.reservedDatabases : postgresqlNames.reservedUsers
  if (reserved.includes(name.toLowerCase()) || /^pg_/i.test(name)) {
    throw new BadRequest(`The ${kind} name '${name}' is reserved for the datastore's own use.`)
  }
}

async function exists(client: PgClient, sql: string, name: string): Promise<boolean> {
  return ((await client.query(sql, [name])).rowCount ?? 0) > 0
}

/** True when the database exists. */
export const databaseExists = (c: PgClient, name: string): Promise<boolean> => exists(c, 'SELECT 1 FROM pg_database WHERE datname = $1', name)

/** True when the role exists. */
export const roleExists = (c: PgClient, name: string): Promise<boolean> => exists(c, 'SELECT 1 FROM pg_roles WHERE rolname = $1', name)
