/**
 * Databases and users inside a MariaDB (or MySQL) instance, done as the service account. A user
 * is an account `name`@`host` (host `%` unless given) with no global privilege beyond USAGE and
 * ALL PRIVILEGES (never GRANT OPTION) on each database granted to it. Every name reaches SQL
 * through client.ts's quoting; grants escape `_` and `%`, which are wildcards in a GRANT.
 *
 * MariaDB checks database privileges when a session picks its database, not on every statement,
 * so revoking a database or dropping a user also ends the sessions that would keep the access.
 *
 * Tables belong to databases, not users, so dropping a user never drops data. Views, routines,
 * triggers and events the user defined stay, naming a definer that no longer exists (MariaDB has
 * no REASSIGN OWNED); a client recreates them, or the user, if they must run as it.
 */
import type { RowDataPacket } from 'mysql2/promise'
import { BadRequest, Conflict, NotFound } from '../../../core/errors.js'
import type { GuestDatabase, GuestUser } from '../../protocol.js'
import type { DatabaseAdmin, GuestUserInfo, InstanceContext, UserAdmin, UserChanges, UserRef } from '../datastore.js'
import { account, grantTarget, ident, identifiedBy, type MysqlClient, unescapeGrantDb } from './client.js'
import { mariadbNames } from './manifest.js'
import { withService } from './service-account.js'

type Rows<T> = (RowDataPacket & T)[]

const isReserved = (kind: 'database' | 'user', name: string): boolean =>
  (kind === 'database' ? mariadbNames.reservedDatabases : mariadbNames.reservedUsers).includes(name.toLowerCase())

/** Refuses the engine's own names (and the anonymous user), whatever the API let through. */
export function refuseReserved(kind: 'database' | 'user', name: string): void {
  if (name === '' || isReserved(kind, name)) {
    throw new BadRequest(`The ${kind} name '${name}' is reserved for the datastore's own use.`)
  }
}

/** The account's host, `%` when not given. An empty host would make an account that lists as a role. */
function hostOf(user: { readonly name: string; readonly host?: string | undefined }): string {
  if (user.host === '') throw new BadRequest(`User '${user.name}' needs a host: a host name, an address or '%'.`)
  return user.host ?? '%'
}

/** True when the account exists. */
export async function accountExists(c: MysqlClient, name: string, host: string): Promise<boolean> {
  const [rows] = await c.query<Rows<object>>('SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [name, host])
  return rows.length > 0
}

// information_schema compares case-insensitively; names are case-sensitive here, hence BINARY.
async function databaseExists(c: MysqlClient, name: string): Promise<boolean> {
  const [rows] = await c.query<Rows<object>>('SELECT 1 FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME = ?', [name])
  return rows.length > 0
}

/** Ends the sessions of user `name` (any host) whose current database is `db`, or all of them. */
export async function killSessions(c: MysqlClient, filter: { readonly user?: string; readonly db?: string }): Promise<void> {
  const [rows] = await c.query<Rows<{ id: number }>>(
    `SELECT ID AS id FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID() AND (? IS NULL OR BINARY USER = ?) AND (? IS NULL OR BINARY DB = ?)`,
    [filter.user ?? null, filter.user ?? null, filter.db ?? null, filter.db ?? null],
  )
  for (const { id } of rows) {
    // The session may have ended on its own meanwhile (ER_NO_SUCH_THREAD).
    await c.query('KILL CONNECTION ?', [Number(id)]).catch((err: { code?: string }) => {
      if (err.code !== 'ER_NO_SUCH_THREAD') throw err
    })
  }
}

/** The mysql.db rows that grant `database` (escaped as grantTarget writes it, or verbatim). */
async function grantsOn(c: MysqlClient, database: string, user?: { name: string; host: string }): Promise<{ user: string; host: string; db: string }[]> {
  const escaped = database.replace(/[\\_%]/g, '\\$&')
  const [rows] = await c.query<Rows<{ user: string; host: string; db: string }>>(
    'SELECT User AS user, Host AS host, Db AS db FROM mysql.db WHERE Db IN (?, ?) AND (? IS NULL OR (User = ? AND Host = ?))',
    [escaped, database, user?.name ?? null, user?.name ?? null, user?.host ?? null],
  )
  return rows
}

async function grantAll(c: MysqlClient, name: string, host: string, databases: readonly string[]): Promise<void> {
  // ALL on `mysql`.* would let a user write the grant tables, i.e. make itself a superuser.
  databases.forEach((db) => refuseReserved('database', db))
  for (const db of databases) {
    if (!(await databaseExists(c, db))) throw new NotFound(`Database '${db}' does not exist.`)
    await c.query(`GRANT ALL PRIVILEGES ON ${grantTarget(db)} TO ${account(name, host)}`)
  }
}

/** Databases: creating one that exists leaves it as it is. */
export const mariadbDatabases: DatabaseAdmin = {
  async list(ctx: InstanceContext): Promise<GuestDatabase[]> {
    const [rows] = await withService(ctx, (c) =>
      c.query<Rows<{ name: string; character_set: string; collate: string }>>(
        `SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS character_set, DEFAULT_COLLATION_NAME AS \`collate\`
           FROM information_schema.SCHEMATA ORDER BY BINARY SCHEMA_NAME`,
      ),
    )
    return rows.filter((r) => !isReserved('database', r.name)).map((r) => ({ name: r.name, character_set: r.character_set, collate: r.collate }))
  },

  async create(ctx: InstanceContext, databases: readonly GuestDatabase[]): Promise<void> {
    if (databases.length === 0) return
    databases.forEach((d) => refuseReserved('database', d.name))
    await withService(ctx, async (c) => {
      for (const db of databases) {
        ctx.signal?.throwIfAborted()
        // Character set and collation names are quoted as strings, which MariaDB accepts there.
        const options = [
          db.character_set ? c.format(' CHARACTER SET ?', [db.character_set]) : '',
          db.collate ? c.format(' COLLATE ?', [db.collate]) : '',
        ].join('')
        await c.query(`CREATE DATABASE IF NOT EXISTS ${ident(db.name)}${options}`)
      }
    })
  },

  async delete(ctx: InstanceContext, name: string): Promise<void> {
    refuseReserved('database', name)
    await withService(ctx, async (c) => {
      await killSessions(c, { db: name })
      // Grants outlive a dropped database in MariaDB and would come back with a new one of the same name.
      for (const g of await grantsOn(c, name)) await c.query(`REVOKE ALL PRIVILEGES ON ${ident(g.db)}.* FROM ${account(g.user, g.host)}`)
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)}`)
    })
  },
}

/** Users: creating one that exists sets its password and adds the grants; the password is never read back. */
export const mariadbUsers: UserAdmin = {
  async list(ctx: InstanceContext): Promise<GuestUserInfo[]> {
    const [rows] = await withService(ctx, (c) =>
      c.query<Rows<{ name: string; host: string; db: string | null }>>(
        // Roles have an empty Host; the anonymous user an empty User.
        `SELECT u.User AS name, u.Host AS host, d.Db AS db
           FROM mysql.user u LEFT JOIN mysql.db d ON d.User = u.User AND d.Host = u.Host
          WHERE u.User <> '' AND u.Host <> '' ORDER BY BINARY u.User, BINARY u.Host, BINARY d.Db`,
      ),
    )
    const users = new Map<string, { name: string; host: string; databases: { name: string }[] }>()
    for (const r of rows) {
      if (isReserved('user', r.name)) continue
      const key = `${r.name}\0${r.host}`
      const user = users.get(key) ?? { name: r.name, host: r.host, databases: [] }
      users.set(key, user)
      if (r.db !== null) user.databases.push({ name: unescapeGrantDb(r.db) })
    }
    return [...users.values()]
  },

  async create(ctx: InstanceContext, users: readonly GuestUser[]): Promise<void> {
    if (users.length === 0) return
    users.forEach((u) => refuseReserved('user', u.name))
    await withService(ctx, async (c) => {
      for (const u of users) {
        const host = hostOf(u)
        const verb = (await accountExists(c, u.name, host)) ? 'ALTER' : 'CREATE'
        await c.query(`${verb} USER ${account(u.name, host)} ${await identifiedBy(c, u.password)}`)
        await grantAll(c, u.name, host, u.databases.map((d) => d.name))
      }
    })
  },

  async delete(ctx: InstanceContext, user: UserRef): Promise<void> {
    refuseReserved('user', user.name)
    await withService(ctx, async (c) => {
      await c.query(`DROP USER IF EXISTS ${account(user.name, hostOf(user))}`)
      // Sessions outlive DROP USER; end them unless another account of that name remains.
      if (!(await c.query<Rows<object>>('SELECT 1 FROM mysql.user WHERE User = ?', [user.name]))[0].length) {
        await killSessions(c, { user: user.name })
      }
    })
  },

  async update(ctx: InstanceContext, user: UserRef, changes: UserChanges): Promise<void> {
    const from = { name: user.name, host: hostOf(user) }
    const toName = changes.name ?? from.name
    const to = { name: toName, host: hostOf({ name: toName, host: changes.host ?? from.host }) }
    refuseReserved('user', from.name)
    refuseReserved('user', to.name)
    await withService(ctx, async (c) => {
      const fromExists = await accountExists(c, from.name, from.host)
      if (to.name !== from.name || to.host !== from.host) {
        const toExists = await accountExists(c, to.name, to.host)
        if (fromExists && toExists) throw new Conflict(`User '${to.name}'@'${to.host}' already exists.`)
        if (fromExists) await c.query(`RENAME USER ${account(from.name, from.host)} TO ${account(to.name, to.host)}`)
        // Neither: not found. Only the new one: renamed before a crash, so carry on.
        else if (!toExists) throw new NotFound(`User '${from.name}'@'${from.host}' does not exist.`)
      } else if (!fromExists) {
        throw new NotFound(`User '${from.name}'@'${from.host}' does not exist.`)
      }
      if (changes.password !== undefined) await c.query(`ALTER USER ${account(to.name, to.host)} ${await identifiedBy(c, changes.password)}`)
    })
  },

  async grant(ctx: InstanceContext, user: UserRef, databases: readonly string[]): Promise<void> {
    refuseReserved('user', user.name)
    await withService(ctx, async (c) => {
      if (!(await accountExists(c, user.name, hostOf(user)))) throw new NotFound(`User '${user.name}'@'${hostOf(user)}' does not exist.`)
      await grantAll(c, user.name, hostOf(user), databases)
    })
  },

  async revoke(ctx: InstanceContext, user: UserRef, database: string): Promise<void> {
    refuseReserved('user', user.name)
    await withService(ctx, async (c) => {
      const grants = await grantsOn(c, database, { name: user.name, host: hostOf(user) })
      for (const g of grants) await c.query(`REVOKE ALL PRIVILEGES ON ${ident(g.db)}.* FROM ${account(g.user, g.host)}`)
      await killSessions(c, { user: user.name, db: database })
    })
  },
}
