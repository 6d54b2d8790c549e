/**
 * Databases inside a PostgreSQL instance, made by the service account (which owns them). Each is
 * closed to PUBLIC: only users granted it may connect, through its owner role (see access.ts),
 * which a delete drops with the database.
 */
import type { GuestDatabase } from '../../protocol.js'
import type { DatabaseAdmin, InstanceContext } from '../datastore.js'
import { ownerRoleOf } from './access.js'
import { databaseExists, refuseReserved, roleExists } from './catalog.js'
import { TEMPLATE_ENCODING } from './character-sets.js'
import { dropRole } from './drop-role.js'
import { postgresqlNames } from './manifest.js'
import { withService } from './service-account.js'

/**
 * The locale of a database given an encoding but no collation: the template's (C.UTF-8) suits
 * only UTF8, while C suits every encoding and sorts the same way.
 */
const localeFor = (encoding: string | undefined): string | undefined =>
  encoding === undefined || encoding.toLowerCase().replace(/[^a-z0-9]/g, '') === TEMPLATE_ENCODING.toLowerCase() ? undefined : 'C'

/** PostgreSQL's DatabaseAdmin. */
export const postgresqlDatabases: DatabaseAdmin = {
  async list(ctx: InstanceContext): Promise<GuestDatabase[]> {
    const { rows } = await withService(ctx, (c) =>
      c.query<{ name: string; character_set: string; collate: string }>(
        `SELECT datname AS name, pg_encoding_to_char(encoding) AS character_set, datcollate AS collate
           FROM pg_database WHERE NOT datistemplate AND datname <> ALL($1) ORDER BY datname`,
        [postgresqlNames.reservedDatabases],
      ),
    )
    return rows
  },

  async create(ctx: InstanceContext, databases: readonly GuestDatabase[]): Promise<void> {
    if (databases.length === 0) return
    databases.forEach((d) => refuseReserved('database', d.name))
    await withService(ctx, async (c) => {
      for (const db of databases) {
        ctx.signal?.throwIfAborted()
        const ident = c.escapeIdentifier(db.name)
        if (!(await databaseExists(c, db.name))) {
          // Left by a delete cut short: its members were granted the old database, not this one.
          if (await roleExists(c, ownerRoleOf(db.name))) await dropRole(ctx, c, ownerRoleOf(db.name))
          const locale = db.collate ?? localeFor(db.character_set)
          const options = [
            db.character_set ? `ENCODING ${c.escapeLiteral(db.character_set)}` : '',
            locale ? `LC_COLLATE ${c.escapeLiteral(locale)} LC_CTYPE ${c.escapeLiteral(locale)}` : '',
          ].filter(Boolean)
          // template1's encoding and locale are fixed; other ones need the pristine template0.
          await c.query(`CREATE DATABASE ${ident}${options.length ? ` WITH ${options.join(' ')} TEMPLATE template0` : ''}`)
        }
        // Also on an existing database: a crash may have come between CREATE and REVOKE.
        await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${ident} FROM PUBLIC`)
      }
    })
  },

  async delete(ctx: InstanceContext, name: string): Promise<void> {
    refuseReserved('database', name)
    await withService(ctx, async (c) => {
      // FORCE ends open sessions, which would otherwise make the drop fail.
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`)
      await dropRole(ctx, c, ownerRoleOf(name))
    })
  },
}
