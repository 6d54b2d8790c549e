/**
 * Projects, users, roles and tokens: the part of Keystone v3 that Trove's clients use. Tokens are
 * random, stored only as their sha256, and expire.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Unauthorized } from '../core/errors.js'
import type { Db } from '../store/schema.js'
import { newId } from './ids.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { isCloudAdmin } from './roles.js'

export interface Principal {
  readonly userId: string
  readonly userName: string
  readonly projectId: string
  readonly projectName: string
  readonly roles: readonly string[]
  /** The admin role on the admin project: reaches every project and the admin routes. */
  readonly cloudAdmin: boolean
  readonly issuedAt: string
  readonly expiresAt: string
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export async function ensureProject(db: Db, name: string): Promise<string> {
  const found = await db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst()
  if (found) return found.id
  const id = newId()
  await db.insertInto('projects').values({ id, name, created_at: new Date().toISOString() }).execute()
  return id
}

/** Creates the user with the role on the project, or leaves an existing user as it is. Returns true when created. */
export async function ensureUser(db: Db, u: { name: string; password: string; project: string; role: string }): Promise<boolean> {
  const projectId = await ensureProject(db, u.project)
  const found = await db.selectFrom('users').select('id').where('name', '=', u.name).executeTakeFirst()
  if (found) return false
  const id = newId()
  await db.insertInto('users').values({ id, name: u.name, password_hash: await hashPassword(u.password), default_project_id: projectId, created_at: new Date().toISOString() }).execute()
  await db.insertInto('role_assignments').values({ user_id: id, project_id: projectId, role: u.role }).execute()
  if (u.role === 'admin') await db.insertInto('role_assignments').values({ user_id: id, project_id: projectId, role: 'member' }).execute()
  return true
}

export interface Credentials {
  readonly userName: string
  readonly password: string
  /** Project name or id to scope to; the user's default project when absent. */
  readonly project?: { readonly name?: string; readonly id?: string }
}

const INVALID = 'The request you have made requires authentication.'

/** Checked when the user name is unknown, so an answer takes as long whether the user exists or not. */
let noUserHash: Promise<string> | undefined
const dummyHash = (): Promise<string> => (noUserHash ??= hashPassword(randomBytes(16).toString('hex')))

export async function issueToken(db: Db, c: Credentials, ttlMs: number, adminProject: string): Promise<{ token: string; principal: Principal }> {
  const user = await db.selectFrom('users').selectAll().where('name', '=', c.userName).executeTakeFirst()
  if (!user) await verifyPassword(c.password, await dummyHash())
  if (!user || !(await verifyPassword(c.password, user.password_hash))) throw new Unauthorized(INVALID)
  let pq = db.selectFrom('projects').selectAll()
  if (c.project?.id) pq = pq.where('id', '=', c.project.id)
  else if (c.project?.name) pq = pq.where('name', '=', c.project.name)
  else if (user.default_project_id) pq = pq.where('id', '=', user.default_project_id)
  else throw new Unauthorized(`User ${user.name} has no default project; name the project to log in to (OS_PROJECT_NAME).`)
  const project = await pq.executeTakeFirst()
  if (!project) throw new Unauthorized(INVALID)
  const roles = await rolesOf(db, user.id, project.id)
  if (roles.length === 0) throw new Unauthorized(`User ${user.name} has no role on project ${project.name}.`)
  const token = randomBytes(32).toString('base64url')
  const issued = new Date()
  const expires = issued.getTime() + ttlMs
  await db.insertInto('tokens').values({ token_hash: hashToken(token), user_id: user.id, project_id: project.id, issued_at: issued.toISOString(), expires_at: expires }).execute()
  const principal = {
    userId: user.id,
    userName: user.name,
    projectId: project.id,
    projectName: project.name,
    roles,
    cloudAdmin: isCloudAdmin(roles, project.name, adminProject),
    issuedAt: issued.toISOString(),
    expiresAt: new Date(expires).toISOString(),
  }
  return { token, principal }
}

export async function validateToken(db: Db, token: string | undefined, adminProject: string): Promise<Principal> {
  if (!token) throw new Unauthorized()
  const row = await db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .innerJoin('projects', 'projects.id', 'tokens.project_id')
    .select(['tokens.user_id', 'tokens.project_id', 'tokens.issued_at', 'tokens.expires_at', 'users.name as user_name', 'projects.name as project_name'])
    .where('tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst()
  if (!row || Number(row.expires_at) <= Date.now()) throw new Unauthorized()
  // Roles are read on every call, so a role removed takes effect at once, not at the token's expiry.
  const roles = await rolesOf(db, row.user_id, row.project_id)
  return {
    userId: row.user_id,
    userName: row.user_name,
    projectId: row.project_id,
    projectName: row.project_name,
    roles,
    cloudAdmin: isCloudAdmin(roles, row.project_name, adminProject),
    issuedAt: row.issued_at,
    expiresAt: new Date(Number(row.expires_at)).toISOString(),
  }
}

export async function revokeToken(db: Db, token: string): Promise<void> {
  await db.deleteFrom('tokens').where('token_hash', '=', hashToken(token)).execute()
}

export async function purgeExpiredTokens(db: Db): Promise<void> {
  await db.deleteFrom('tokens').where('expires_at', '<=', Date.now()).execute()
}

async function rolesOf(db: Db, userId: string, projectId: string): Promise<string[]> {
  const rows = await db.selectFrom('role_assignments').select('role').where('user_id', '=', userId).where('project_id', '=', projectId).execute()
  return rows.map((r) => r.role)
}
