/**
 * Users inside a PostgreSQL instance: plain login roles (no superuser, no role or database
 * creation, no replication). A user reaches a database only once granted it, by joining the
 * database's owner role (access.ts), so users granted the same database share what is in it.
 * PostgreSQL has no user hosts, so `host` is ignored.
 */
import { Conflict, NotFound } from '../../../core/errors.js'
import type { GuestUser } from '../../protocol.js'
import type { GuestUserInfo, InstanceContext, UserAdmin, UserChanges, UserRef } from '../datastore.js'
import { adoptDatabase, databasesReachedBy, grantAccess, revokeAccess } from './access.js'
import { databaseExists, refuseReserved, roleExists } from './catalog.js'
import type { PgClient } from './client.js'
import { dropRole } from './drop-role.js'
import { postgresqlNames } from './manifest.js'
import { passwordForServer } from './scram.js'
import { withService } from './service-account.js'

/** What every user is: able to log in and nothing more. Applied again to existing roles. */
const USER_ATTRIBUTES = 'LOGIN INHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS'

const setPassword = async (c: PgClient, role: string, password: string, attributes = ''): Promise<void> => {
  const verifier = c.escapeLiteral(await passwordForServer(password))
  await c.query(`ALTER ROLE ${c.escapeIdentifier(role)} WITH ${attributes} PASSWORD ${verifier}`)
}

/** Gives each role access to each database. */
async function grantDatabases(ctx: InstanceContext, c: PgClient, roles: readonly string[], databases: readonly string[]): Promise<void> {
  for (const db of databases) {
    if (!(await databaseExists(c, db))) throw new NotFound(`Database '${db}' does not exist on instance ${ctx.instanceId}.`)
    for (const role of roles) await grantAccess(ctx, c, role, db)
  }
}

async function requireRole(ctx: InstanceContext, c: PgClient, name: string): Promise<void> {
  if (!(await roleExists(c, name))) throw new NotFound(`User '${name}' does not exist on instance ${ctx.instanceId}.`)
}

/** PostgreSQL's UserAdmin. */
export const postgresqlUsers: UserAdmin = {
  async list(ctx: InstanceContext): Promise<GuestUserInfo[]> {
    const { rows } = await withService(ctx, (c) =>
      c.query<{ name: string; databases: string[] }>(
        `SELECT r.rolname AS name,
                ARRAY(SELECT DISTINCT d.datname::text FROM pg_database d, aclexplode(d.datacl) a
                       WHERE a.privilege_type = 'CONNECT' AND NOT d.datistemplate
                         AND (a.grantee = r.oid OR a.grantee IN (SELECT m.roleid FROM pg_auth_members m WHERE m.member = r.oid))
                       ORDER BY 1) AS databases
           FROM pg_roles r
          WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname !~ '^pg_' AND r.rolname <> ALL($1)
          ORDER BY r.rolname`,
        [postgresqlNames.reservedUsers],
      ),
    )
    return rows.map((r) => ({ name: r.name, databases: r.databases.map((name) => ({ name })) }))
  },

  async create(ctx: InstanceContext, users: readonly GuestUser[]): Promise<void> {
    if (users.length === 0) return
    users.forEach((u) => refuseReserved('user', u.name))
    await withService(ctx, async (c) => {
      for (const u of users) {
        // Created unable to log in; it can once it has its attributes and password, in one statement.
        if (!(await roleExists(c, u.name))) await c.query(`CREATE ROLE ${c.escapeIdentifier(u.name)} NOLOGIN`)
        await setPassword(c, u.name, u.password, USER_ATTRIBUTES)
      }
      const byDatabase = new Map<string, string[]>()
      for (const u of users) for (const d of u.databases) byDatabase.set(d.name, [...(byDatabase.get(d.name) ?? []), u.name])
      for (const [db, roles] of byDatabase) await grantDatabases(ctx, c, roles, [db])
    })
  },

  async delete(ctx: InstanceContext, user: UserRef): Promise<void> {
    refuseReserved('user', user.name)
    await withService(ctx, async (c) => {
      if (!(await roleExists(c, user.name))) return
      // What the user made stays with each database it reached, owned by the database's role.
      for (const db of await databasesReachedBy(c, user.name)) await adoptDatabase(ctx, c, db)
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user.name])
      await dropRole(ctx, c, user.name)
    })
  },

  async update(ctx: InstanceContext, user: UserRef, changes: UserChanges): Promise<void> {
    refuseReserved('user', user.name)
    const target = changes.name ?? user.name
    if (changes.name !== undefined) refuseReserved('user', changes.name)
    await withService(ctx, async (c) => {
      if (changes.name !== undefined && changes.name !== user.name) {
        const [from, to] = [await roleExists(c, user.name), await roleExists(c, changes.name)]
        if (from && to) throw new Conflict(`User '${changes.name}' already exists on instance ${ctx.instanceId}.`)
        // Only the new name left: a rename done before a crash.
        if (from) await c.query(`ALTER ROLE ${c.escapeIdentifier(user.name)} RENAME TO ${c.escapeIdentifier(changes.name)}`)
      }
      await requireRole(ctx, c, target)
      // SCRAM verifiers do not depend on the name, so a renamed user keeps its password.
      if (changes.password !== undefined) await setPassword(c, target, changes.password)
    })
  },

  async grant(ctx: InstanceContext, user: UserRef, databases: readonly string[]): Promise<void> {
    refuseReserved('user', user.name)
    databases.forEach((d) => refuseReserved('database', d))
    await withService(ctx, async (c) => {
      await requireRole(ctx, c, user.name)
      await grantDatabases(ctx, c, [user.name], databases)
    })
  },

  async revoke(ctx: InstanceContext, user: UserRef, database: string): Promise<void> {
    refuseReserved('user', user.name)
    refuseReserved('database', database)
    await withService(ctx, async (c) => {
      if (!(await roleExists(c, user.name)) || !(await databaseExists(c, database))) return
      await revokeAccess(ctx, c, user.name, database)
    })
  },
}
