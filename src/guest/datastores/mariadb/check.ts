/**
 * A restore drill's last look at a MariaDB instance: every base table of every client database is
 * read to the end (SELECT COUNT(*) walks the whole clustered index) as the service account.
 */
import type { RowDataPacket } from 'mysql2/promise'
import { CofferError, errorMessage } from '../../../core/errors.js'
import type { InstanceContext } from '../datastore.js'
import { ident } from './client.js'
import { mariadbNames } from './manifest.js'
import { withService } from './service-account.js'

export async function checkTables(ctx: InstanceContext): Promise<{ readonly databases: number; readonly tables: number }> {
  const reserved = mariadbNames.reservedDatabases
  return withService(ctx, async (c) => {
    const [schemas] = await c.query<(RowDataPacket & { name: string })[]>('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (?)', [reserved])
    const [tables] = await c.query<(RowDataPacket & { db: string; name: string })[]>(
      "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?)", [reserved])
    for (const t of tables) {
      ctx.signal?.throwIfAborted()
      await c.query(`SELECT COUNT(*) FROM ${ident(t.db)}.${ident(t.name)}`).catch((err: unknown) => {
        throw new CofferError('ENGINE', `Table ${t.db}.${t.name} of the restored instance ${ctx.instanceId} could not be read: ${errorMessage(err)}`, { retryable: false })
      })
    }
    return { databases: schemas.length, tables: tables.length }
  })
}
