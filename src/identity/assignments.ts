/**
 * Role assignments: a user's roles on a project. Roles are the fixed set in roles.ts; a role's id
 * is its name, so `GET /v3/roles/member` finds it either way.
 */
import { NotFound } from '../core/errors.js'
import type { Db } from '../store/schema.js'
import { findProject } from './projects.js'
import { isRole, ROLES, type Role } from './roles.js'
import { findUser } from './users.js'

export interface Assignment {
  readonly role: string
  readonly userId: string
  readonly userName: string
  readonly projectId: string
  readonly projectName: string
}

export function findRole(name: string): Role {
  if (!isRole(name)) throw new NotFound(`Could not find role: ${name}. Roles are ${ROLES.join(', ')}.`)
  return name
}

export async function grantRole(db: Db, projectId: string, userId: string, role: string): Promise<void> {
  findRole(role)
  await findProject(db, projectId)
  await findUser(db, userId)
  await db.insertInto('role_assignments').values({ user_id: userId, project_id: projectId, role }).onConflict((oc) => oc.doNothing()).execute()
}

export async function revokeRole(db: Db, projectId: string, userId: string, role: string): Promise<void> {
  findRole(role)
  await findProject(db, projectId)
  await findUser(db, userId)
  const r = await db.deleteFrom('role_assignments').where('user_id', '=', userId).where('project_id', '=', projectId).where('role', '=', role).executeTakeFirst()
  if (Number(r.numDeletedRows) === 0) throw new NotFound(`Could not find role assignment with role: ${role}, user: ${userId}, project: ${projectId}.`)
}

export interface AssignmentFilter {
  readonly userId?: string | undefined
  readonly projectId?: string | undefined
  readonly role?: string | undefined
}

export async function listAssignments(db: Db, f: AssignmentFilter = {}): Promise<Assignment[]> {
  let q = db
    .selectFrom('role_assignments')
    .innerJoin('users', 'users.id', 'role_assignments.user_id')
    .innerJoin('projects', 'projects.id', 'role_assignments.project_id')
    .select(['role_assignments.role as role', 'users.id as userId', 'users.name as userName', 'projects.id as projectId', 'projects.name as projectName'])
  if (f.userId !== undefined) q = q.where('users.id', '=', f.userId)
  if (f.projectId !== undefined) q = q.where('projects.id', '=', f.projectId)
  if (f.role !== undefined) q = q.where('role_assignments.role', '=', f.role)
  return q.orderBy('projects.name').orderBy('users.name').orderBy('role_assignments.role').execute()
}
