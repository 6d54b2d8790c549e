/**
 * Databases and users inside a PostgreSQL instance, done as the service account. Users are plain
 * login roles (no superuser, no role or database creation). A database is closed to everyone but
 * the users granted it: CONNECT is revoked from PUBLIC and granted per user, together with CREATE
 * on its `public` schema (which PostgreSQL 15 no longer gives to everyone).
 */
import { BadRequest } from '../../../core/errors.js'
import type { GuestDatabase, GuestUser } from '../../protocol.js'
import type { DatabaseAdmin, InstanceContext, UserAdmin } from '../datastore.js'
import type { PgClient } from './client.js'
import { postgresqlNames, SERVICE_USER } from './manifest.js'
import { passwordForServer } from './scram.js'
import { withService } from './service-account.js'

const reservedDatabases = postgresqlNames.reservedDatabases
const reservedUsers = postgresqlNames.reservedUsers

function refuseReserved(kind: 'database' | 'user', name: string): void {
  const reserved = kind === 'database' ? reservedDatabases : reservedUsers
  if (reserved.includes(name.toLowerCase()) || /^pg_/i.test(name)) {
    throw new BadRequest(`The ${kind} name '${name}' is reserved for the datastore's own use.`)
  }
}

async function exists(client: PgClient, sql: string, name: string): Promise<boolean> {
  return ((await client.query(sql, [name])).rowCount ?? 0) > 0
}
const databaseExists = (c: PgClient, name: string) => exists(c, 'SELECT 1 FROM pg_database WHERE datname = $1', name)
const roleExists = (c: PgClient, name: string) => exists(c, 'SELECT 1 FROM pg_roles WHERE rolname = $1', name)

/** Databases: creating one that exists is a no-op apart from closing it to PUBLIC again. */
export const postgresqlDatabases: DatabaseAdmin = {
  async list(ctx: InstanceContext): Promise<GuestDatabase[]> {
    const { rows } = await withService(ctx, (c) =>
      c.query<{ name: string; character_set: string; collate: string }>(
        `SELECT datname AS name, pg_encoding_to_char(encoding) AS character_set, datcollate AS collate
           FROM pg_database WHERE NOT datistemplate AND datname <> ALL($1) ORDER BY datname`,
        [reservedDatabases],
      ),
    )
    return rows
  },

  async create(ctx: InstanceContext, databases: readonly GuestDatabase[]): Promise<void> {
    if (databases.length === 0) return
    databases.forEach((d) => refuseReserved('database', d.name))
    await withService(ctx, async (c) => {
      for (const db of databases) {
        const ident = c.escapeIdentifier(db.name)
        if (!(await databaseExists(c, db.name))) {
          const options = [
            db.character_set ? `ENCODING ${c.escapeLiteral(db.character_set)}` : '',
            db.collate ? `LC_COLLATE ${c.escapeLiteral(db.collate)} LC_CTYPE ${c.escapeLiteral(db.collate)}` : '',
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
    // FORCE ends open sessions, which would otherwise make the drop fail.
    await withService(ctx, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`))
  },
}

/** Users: creating one that exists sets its password and adds the grants; the password is never read back. */
export const postgresqlUsers: UserAdmin = {
  async list(ctx: InstanceContext): Promise<GuestUser[]> {
    const { rows } = await withService(ctx, (c) =>
      c.query<{ name: string; databases: string[] }>(
        `SELECT r.rolname AS name,
                ARRAY(SELECT d.datname::text FROM pg_database d, aclexplode(d.datacl) a
                       WHERE a.grantee = r.oid AND a.privilege_type = 'CONNECT' ORDER BY d.datname) AS databases
           FROM pg_roles r
          WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname !~ '^pg_' AND r.rolname <> ALL($1)
          ORDER BY r.rolname`,
        [reservedUsers],
      ),
    )
    // GuestUser requires a password; a stored one cannot be returned, so it is always empty here.
    return rows.map((r) => ({ name: r.name, password: '', databases: r.databases.map((name) => ({ name })) }))
  },

  async create(ctx: InstanceContext, users: readonly GuestUser[]): Promise<void> {
    if (users.length === 0) return
    users.forEach((u) => refuseReserved('user', u.name))
    const grantsByDatabase = new Map<string, string[]>()
    await withService(ctx, async (c) => {
      for (const u of users) {
        const role = c.escapeIdentifier(u.name)
        const password = c.escapeLiteral(await passwordForServer(u.password))
        const verb = (await roleExists(c, u.name)) ? 'ALTER' : 'CREATE'
        await c.query(`${verb} ROLE ${role} WITH LOGIN PASSWORD ${password} NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS`)
        for (const db of u.databases) {
          await c.query(`GRANT ALL PRIVILEGES ON DATABASE ${c.escapeIdentifier(db.name)} TO ${role}`)
          grantsByDatabase.set(db.name, [...(grantsByDatabase.get(db.name) ?? []), u.name])
        }
      }
    })
    // Schema privileges live inside each database: one connection per database.
    for (const [db, names] of grantsByDatabase) {
      await withService(ctx, async (c) => {
        const roles = names.map((n) => c.escapeIdentifier(n)).join(', ')
        await c.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${roles}`)
      }, db)
    }
  },

  async delete(ctx: InstanceContext, name: string): Promise<void> {
    refuseReserved('user', name)
    const databases = await withService(ctx, async (c) => {
      if (!(await roleExists(c, name))) return []
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')
      return rows.map((r) => r.datname)
    })
    // Objects the user made stay, now owned by the service account: deleting a user never deletes data.
    for (const db of databases) {
      await withService(ctx, async (c) => {
        const role = c.escapeIdentifier(name)
        await c.query(`REASSIGN OWNED BY ${role} TO ${c.escapeIdentifier(SERVICE_USER)}`)
        await c.query(`DROP OWNED BY ${role}`)
      }, db)
    }
    if (databases.length > 0) await withService(ctx, (c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(name)}`))
  },
}
