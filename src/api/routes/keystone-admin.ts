/**
 * The Keystone v3 admin calls needed to give a team its own project: create projects and users,
 * assign and remove roles (`openstack project create`, `openstack user create`, `openstack role
 * add|remove|assignment list`). A new user gets `member` on its default project; make a read-only
 * user by adding `reader` and removing `member`. The cloud admin's only.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { Conflict, NotFound } from '../../core/errors.js'
import { ensureProject, ensureUser } from '../../identity/identity.js'
import { isRole, ROLES } from '../../identity/roles.js'
import type { Db } from '../../store/schema.js'
import { requireAdmin, requireToken } from '../auth.js'
import { parseBody } from '../parse.js'

const NAME = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'use letters, digits and _ . @ -')
const ProjectBody = z.object({ project: z.object({ name: NAME }) })
const UserBody = z.object({ user: z.object({ name: NAME, password: z.string().min(8, 'must be at least 8 characters'), default_project_id: z.string() }) })

type RoleParams = { Params: { projectId: string; userId: string; role: string } }

export function keystoneAdminRoutes(app: FastifyInstance, db: Db, adminProject: string): void {
  const assignment = async (projectId: string, userId: string) => {
    const user = await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()
    const project = await db.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst()
    if (!user || !project) throw new NotFound('User or project cannot be found.')
  }
  const knownRole = (role: string) => {
    if (!isRole(role)) throw new NotFound(`Role ${role} cannot be found; roles are ${ROLES.join(', ')}.`)
  }
  void app.register(async (admin) => {
    admin.addHook('preHandler', requireToken(db, adminProject))
    admin.addHook('preHandler', async (req) => requireAdmin(req))

    admin.get('/v3/projects', async () => ({ projects: (await db.selectFrom('projects').select(['id', 'name']).orderBy('name').execute()).map((p) => ({ ...p, domain_id: 'default', enabled: true })) }))

    admin.post('/v3/projects', async (req, reply) => {
      const { project } = parseBody(ProjectBody, req.body)
      if (await db.selectFrom('projects').select('id').where('name', '=', project.name).executeTakeFirst()) throw new Conflict(`Project ${project.name} exists already.`)
      const id = await ensureProject(db, project.name)
      return reply.code(201).send({ project: { id, name: project.name, domain_id: 'default', enabled: true } })
    })

    admin.post('/v3/users', async (req, reply) => {
      const { user } = parseBody(UserBody, req.body)
      const project = await db.selectFrom('projects').select('name').where('id', '=', user.default_project_id).executeTakeFirst()
      if (!project) throw new NotFound(`Project ${user.default_project_id} cannot be found.`)
      if (!(await ensureUser(db, { name: user.name, password: user.password, project: project.name, role: 'member' }))) throw new Conflict(`User ${user.name} exists already.`)
      const row = await db.selectFrom('users').select('id').where('name', '=', user.name).executeTakeFirstOrThrow()
      return reply.code(201).send({ user: { id: row.id, name: user.name, default_project_id: user.default_project_id, domain_id: 'default', enabled: true } })
    })

    admin.get<RoleParams>('/v3/projects/:projectId/users/:userId/roles', async (req) => {
      const { projectId, userId } = req.params
      await assignment(projectId, userId)
      const rows = await db.selectFrom('role_assignments').select('role').where('user_id', '=', userId).where('project_id', '=', projectId).orderBy('role').execute()
      return { roles: rows.map((r) => ({ id: r.role, name: r.role })) }
    })

    admin.put<RoleParams>('/v3/projects/:projectId/users/:userId/roles/:role', async (req, reply) => {
      const { projectId, userId, role } = req.params
      knownRole(role)
      await assignment(projectId, userId)
      await db.insertInto('role_assignments').values({ user_id: userId, project_id: projectId, role }).onConflict((oc) => oc.doNothing()).execute()
      return reply.code(204).send()
    })

    admin.delete<RoleParams>('/v3/projects/:projectId/users/:userId/roles/:role', async (req, reply) => {
      const { projectId, userId, role } = req.params
      knownRole(role)
      await assignment(projectId, userId)
      const r = await db.deleteFrom('role_assignments').where('user_id', '=', userId).where('project_id', '=', projectId).where('role', '=', role).executeTakeFirst()
      if (Number(r.numDeletedRows) === 0) throw new NotFound(`User ${userId} has no role ${role} on project ${projectId}.`)
      return reply.code(204).send()
    })
  })
}
