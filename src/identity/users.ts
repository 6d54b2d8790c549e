/**
 * Users (Keystone's, all in the one `Default` domain). A user made with a default project gets the
 * `member` role there, so `openstack user create --project P` alone gives a working login; a user
 * made without one has no role until one is added. Deleting a user ends its tokens (they cascade).
 */
import { BadRequest, Conflict, Forbidden, NotFound, Unauthorized } from '../core/errors.js'
import type { Db, Schema } from '../store/schema.js'
import { newId } from './ids.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { ADMIN_USER } from './roles.js'

export type UserRow = Omit<Schema['users'], 'password_hash'>

const COLUMNS = ['id', 'name', 'default_project_id', 'created_at'] as const

export async function listUsers(db: Db, f: { name?: string | undefined } = {}): Promise<UserRow[]> {
  let q = db.selectFrom('users').select(COLUMNS)
  if (f.name !== undefined) q = q.where('name', '=', f.name)
  return q.orderBy('name').execute()
}

export async function findUser(db: Db, id: string): Promise<UserRow> {
  const row = await db.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFound(`Could not find user: ${id}.`)
  return row
}

export async function createUser(db: Db, u: { name: string; password: string; defaultProjectId?: string | undefined }): Promise<UserRow> {
  if (u.defaultProjectId !== undefined && !(await db.selectFrom('projects').select('id').where('id', '=', u.defaultProjectId).executeTakeFirst())) {
    throw new NotFound(`Could not find project: ${u.defaultProjectId}.`)
  }
  if (await db.selectFrom('users').select('id').where('name', '=', u.name).executeTakeFirst()) {
    throw new Conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${u.name} at domain ID default.`)
  }
  const row = { id: newId(), name: u.name, default_project_id: u.defaultProjectId ?? null, created_at: new Date().toISOString() }
  const password_hash = await hashPassword(u.password)
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('users').values({ ...row, password_hash }).execute()
    if (row.default_project_id) await trx.insertInto('role_assignments').values({ user_id: row.id, project_id: row.default_project_id, role: 'member' }).execute()
  })
  return row
}

export async function updateUser(db: Db, id: string, patch: { name?: string | undefined; password?: string | undefined; defaultProjectId?: string | null | undefined }): Promise<UserRow> {
  await findUser(db, id)
  if (patch.name !== undefined && (await db.selectFrom('users').select('id').where('name', '=', patch.name).where('id', '!=', id).executeTakeFirst())) {
    throw new Conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${patch.name} at domain ID default.`)
  }
  if (patch.defaultProjectId && !(await db.selectFrom('projects').select('id').where('id', '=', patch.defaultProjectId).executeTakeFirst())) {
    throw new NotFound(`Could not find project: ${patch.defaultProjectId}.`)
  }
  const values = {
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.password !== undefined ? { password_hash: await hashPassword(patch.password) } : {}),
    ...(patch.defaultProjectId !== undefined ? { default_project_id: patch.defaultProjectId } : {}),
  }
  await db.transaction().execute(async (trx) => {
    if (Object.keys(values).length > 0) await trx.updateTable('users').set(values).where('id', '=', id).execute()
    // A password set by the admin ends the sessions opened with the old one, as Keystone does.
    if (patch.password !== undefined) await trx.deleteFrom('tokens').where('user_id', '=', id).execute()
  })
  return findUser(db, id)
}

/** A user's own change (`openstack user password set`): needs the current password; ends the user's other sessions too. */
export async function changeOwnPassword(db: Db, id: string, original: string, password: string): Promise<void> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFound(`Could not find user: ${id}.`)
  if (!(await verifyPassword(original, row.password_hash))) throw new Unauthorized('The original password is not correct.')
  if (original === password) throw new BadRequest('The new password is the same as the current one.')
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash: await hashPassword(password) }).where('id', '=', id).execute()
    await trx.deleteFrom('tokens').where('user_id', '=', id).execute()
  })
}

export async function deleteUser(db: Db, id: string, callerId: string): Promise<void> {
  const user = await findUser(db, id)
  // Deleting oneself, or the bootstrap admin, could leave nobody able to administer the node.
  if (id === callerId) throw new Forbidden('You cannot delete the user you are logged in as.')
  if (user.name === ADMIN_USER) throw new Forbidden(`User ${ADMIN_USER} is the bootstrap cloud admin and cannot be deleted.`)
  await db.deleteFrom('users').where('id', '=', id).execute()
}
