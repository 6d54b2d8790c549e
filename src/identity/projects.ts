/**
 * Projects (Keystone's, all in the one `Default` domain). A project that still owns instances or
 * configuration groups is not deleted: those would be left with no project to reach them from.
 */
import { Conflict, Forbidden, NotFound } from '../core/errors.js'
import type { Db, Schema } from '../store/schema.js'
import { newId } from './ids.js'

export type ProjectRow = Schema['projects']

export interface ProjectFilter {
  readonly name?: string | undefined
  /** Only the projects this user has a role on. */
  readonly userId?: string | undefined
}

export async function listProjects(db: Db, f: ProjectFilter = {}): Promise<ProjectRow[]> {
  let q = db.selectFrom('projects').selectAll('projects')
  if (f.name !== undefined) q = q.where('projects.name', '=', f.name)
  if (f.userId !== undefined) {
    const userId = f.userId
    q = q.where((eb) => eb.exists(eb.selectFrom('role_assignments').select('role').whereRef('role_assignments.project_id', '=', 'projects.id').where('role_assignments.user_id', '=', userId)))
  }
  return q.orderBy('projects.name').execute()
}

export async function findProject(db: Db, id: string): Promise<ProjectRow> {
  const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFound(`Could not find project: ${id}.`)
  return row
}

export async function createProject(db: Db, name: string): Promise<ProjectRow> {
  if (await db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst()) {
    throw new Conflict(`Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${name}.`)
  }
  const row = { id: newId(), name, created_at: new Date().toISOString() }
  await db.insertInto('projects').values(row).execute()
  return row
}

/** Removes the project, its role assignments and its tokens; its users stay, without it as their default project. */
export async function deleteProject(db: Db, id: string, adminProject: string): Promise<void> {
  const project = await findProject(db, id)
  if (project.name === adminProject) throw new Forbidden(`Project ${project.name} is the admin project and cannot be deleted.`)
  const instances = await db.selectFrom('instances').select(['id', 'name']).where('project_id', '=', id).execute()
  const groups = await db.selectFrom('configurations').select(['id', 'name']).where('project_id', '=', id).execute()
  if (instances.length > 0 || groups.length > 0) {
    const what = [
      ...(instances.length > 0 ? [`instances ${instances.map((i) => i.name).join(', ')}`] : []),
      ...(groups.length > 0 ? [`configuration groups ${groups.map((g) => g.name).join(', ')}`] : []),
    ]
    throw new Conflict(`Project ${project.name} still has ${what.join(' and ')}; delete them first.`)
  }
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('tokens').where('project_id', '=', id).execute()
    await trx.deleteFrom('projects').where('id', '=', id).execute()
  })
}
