/**
 * Access to a database as Trove's users know it from MySQL: access is per database, and every user
 * granted a database can use and alter what any of them made there.
 *
 * Each database granted to someone has an owner role, `<database>:owner` (NOLOGIN; a colon is in
 * no user's name, so it can never meet one). It holds every privilege on the database and owns its
 * `public` schema. A granted user is a member of it and starts every session in that database as
 * it (`ALTER ROLE user IN DATABASE db SET role`), so what they create belongs to the owner role:
 * to every granted user, and to nobody once they leave it. Default privileges could share rows but
 * not ALTER or DROP, which need ownership. The database itself stays the service account's, so a
 * user can neither drop it nor open it to others.
 *
 * Databases granted before this model (users holding CONNECT themselves) are adopted at their next
 * grant, revoke or user delete: what their users owned there passes to the owner role.
 */
import { createHash } from 'node:crypto'
import type { InstanceContext } from '../datastore.js'
import { roleExists } from './catalog.js'
import type { PgClient } from './client.js'
import { postgresqlNames } from './manifest.js'
import { withService } from './service-account.js'

/** PostgreSQL's longest identifier, in bytes; longer ones are cut silently. */
const NAME_BYTES = 63

/** SQLSTATE duplicate_object. */
const DUPLICATE_OBJECT = '42710'

const OWNER_ATTRIBUTES = 'NOLOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS'

/** The name of `database`'s owner role; a long name is cut and given a hash so two never share one. */
export function ownerRoleOf(database: string): string {
  const plain = `${database}:owner`
  if (Buffer.byteLength(plain) <= NAME_BYTES) return plain
  const hash = createHash('sha256').update(database).digest('hex').slice(0, 8)
  let head = [...database]
  while (Buffer.byteLength(`${head.join('')}:owner:${hash}`) > NAME_BYTES) head = head.slice(0, -1)
  return `${head.join('')}:owner:${hash}`
}

/** True when `role` holds CONNECT on `database` in its own name (not through PUBLIC or a membership). */
async function holdsConnect(c: PgClient, role: string, database: string): Promise<boolean> {
  const { rowCount } = await c.query(
    `SELECT 1 FROM pg_database d, aclexplode(d.datacl) a
      WHERE d.datname = $1 AND a.privilege_type = 'CONNECT' AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2)`,
    [database, role],
  )
  return (rowCount ?? 0) > 0
}

/** Users granted `database` the old way: CONNECT of their own. */
async function directGrantees(c: PgClient, database: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT r.rolname AS name FROM pg_database d, aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
      WHERE d.datname = $1 AND a.privilege_type = 'CONNECT' AND r.rolcanlogin AND NOT r.rolsuper AND r.rolname <> ALL($2)
      ORDER BY 1`,
    [database, postgresqlNames.reservedUsers],
  )
  return rows.map((r) => r.name)
}

const hasPublicSchema = async (d: PgClient): Promise<boolean> =>
  ((await d.query("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).rowCount ?? 0) > 0

/** Makes `user` a member of the owner role, acting as it in every new session in `database`. */
async function join(c: PgClient, user: string, database: string, owner: string): Promise<void> {
  const [u, o] = [c.escapeIdentifier(user), c.escapeIdentifier(owner)]
  await c.query(`GRANT ${o} TO ${u}`)
  await c.query(`ALTER ROLE ${u} IN DATABASE ${c.escapeIdentifier(database)} SET role = ${c.escapeLiteral(owner)}`)
}

/**
 * Gives `database` its owner role (unless it has one) and converts its old-style grantees into
 * members. `c` is the service account on any database. Idempotent: the owner role's CONNECT is
 * granted last, so an interrupted adoption is done again in full.
 */
export async function adoptDatabase(ctx: InstanceContext, c: PgClient, database: string): Promise<string> {
  const owner = ownerRoleOf(database)
  if (await holdsConnect(c, owner, database)) return owner
  const [o, db] = [c.escapeIdentifier(owner), c.escapeIdentifier(database)]
  if (!(await roleExists(c, owner))) {
    // Another grant on the same database may have made it a moment ago.
    await c.query(`CREATE ROLE ${o} ${OWNER_ATTRIBUTES}`).catch((err: { code?: unknown }) => {
      if (err.code !== DUPLICATE_OBJECT) throw err
    })
  }
  const legacy = await directGrantees(c, database)
  await withService(ctx, async (d) => {
    const schema = await hasPublicSchema(d)
    if (schema) await d.query(`ALTER SCHEMA public OWNER TO ${o}`)
    for (const user of legacy) {
      await d.query(`REASSIGN OWNED BY ${d.escapeIdentifier(user)} TO ${o}`)
      if (schema) await d.query(`REVOKE CREATE, USAGE ON SCHEMA public FROM ${d.escapeIdentifier(user)}`)
    }
  }, database)
  for (const user of legacy) {
    await join(c, user, database, owner)
    await c.query(`REVOKE ALL PRIVILEGES ON DATABASE ${db} FROM ${c.escapeIdentifier(user)}`)
  }
  await c.query(`GRANT ALL PRIVILEGES ON DATABASE ${db} TO ${o}`)
  return owner
}

/** Gives `user` access to `database` (which must exist). */
export async function grantAccess(ctx: InstanceContext, c: PgClient, user: string, database: string): Promise<void> {
  await join(c, user, database, await adoptDatabase(ctx, c, database))
}

/**
 * Takes `database` from `user`: out of the owner role, and their open sessions there ended, since
 * a session already acting as the owner role would keep its rights.
 */
export async function revokeAccess(ctx: InstanceContext, c: PgClient, user: string, database: string): Promise<void> {
  const [u, db, owner] = [c.escapeIdentifier(user), c.escapeIdentifier(database), ownerRoleOf(database)]
  // An old-style grant: adopting first hands what the user made there to the owner role.
  if (await holdsConnect(c, user, database)) await adoptDatabase(ctx, c, database)
  await c.query(`REVOKE ALL PRIVILEGES ON DATABASE ${db} FROM ${u}`)
  if (await roleExists(c, owner)) await c.query(`REVOKE ${c.escapeIdentifier(owner)} FROM ${u}`)
  await c.query(`ALTER ROLE ${u} IN DATABASE ${db} RESET role`)
  await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND datname = $2', [user, database])
}

/** The databases `user` may reach: as a member of their owner roles, or by an old-style grant. */
export async function databasesReachedBy(c: PgClient, user: string): Promise<string[]> {
  const { rows } = await c.query<{ datname: string }>(
    `SELECT DISTINCT d.datname FROM pg_database d, aclexplode(d.datacl) a, pg_roles r
      WHERE r.rolname = $1 AND a.privilege_type = 'CONNECT' AND d.datallowconn
        AND (a.grantee = r.oid OR a.grantee IN (SELECT m.roleid FROM pg_auth_members m WHERE m.member = r.oid))
      ORDER BY 1`,
    [user],
  )
  return rows.map((r) => r.datname)
}
