/**
 * `/v3/roles` and role assignments (`openstack role list|show|add|remove`, `openstack role
 * assignment list`). Roles are fixed (`admin`, `member`, `reader`) and a role's id is its name.
 * Assignments are to a user on a project only: no groups, domains or system scope, so filters on
 * those match nothing.
 */
import type { FastifyInstance } from 'fastify'
import { NotFound, NotImplemented } from '../../core/errors.js'
import { findRole, grantRole, listAssignments, revokeRole } from '../../identity/assignments.js'
import { ROLES } from '../../identity/roles.js'
import type { Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { assignmentView, collection, roleView } from '../views/keystone.js'
import { adminOnly, queryParam } from './keystone-access.js'

type Grant = { Params: { projectId: string; userId: string; role: string } }

export function keystoneRoleRoutes(v3: FastifyInstance, db: Db): void {
  v3.get('/v3/roles', async (req) => {
    adminOnly(req)
    const name = queryParam(req, 'name')
    // Domain-specific roles do not exist.
    const rows = queryParam(req, 'domain_id') !== undefined ? [] : ROLES.filter((r) => name === undefined || r === name)
    return collection(baseUrl(req), 'roles', 'roles', rows.map((r) => roleView(baseUrl(req), r)))
  })
  v3.get<{ Params: { id: string } }>('/v3/roles/:id', async (req) => {
    adminOnly(req)
    return { role: roleView(baseUrl(req), findRole(req.params.id)) }
  })
  v3.post('/v3/roles', async (req) => {
    adminOnly(req)
    throw new NotImplemented(`Roles are fixed: ${ROLES.join(', ')}; new ones cannot be made.`)
  })

  v3.get<{ Params: { projectId: string; userId: string } }>('/v3/projects/:projectId/users/:userId/roles', async (req) => {
    adminOnly(req)
    const rows = await listAssignments(db, { projectId: req.params.projectId, userId: req.params.userId })
    return collection(baseUrl(req), `projects/${req.params.projectId}/users/${req.params.userId}/roles`, 'roles', rows.map((a) => roleView(baseUrl(req), a.role)))
  })
  v3.get<Grant>('/v3/projects/:projectId/users/:userId/roles/:role', async (req, reply) => {
    adminOnly(req)
    const { projectId, userId, role } = req.params
    const found = await listAssignments(db, { projectId, userId, role: findRole(role) })
    if (found.length === 0) throw new NotFound(`Could not find role assignment with role: ${role}, user: ${userId}, project: ${projectId}.`)
    return reply.code(204).send()
  })
  v3.put<Grant>('/v3/projects/:projectId/users/:userId/roles/:role', async (req, reply) => {
    adminOnly(req)
    await grantRole(db, req.params.projectId, req.params.userId, req.params.role)
    return reply.code(204).send()
  })
  v3.delete<Grant>('/v3/projects/:projectId/users/:userId/roles/:role', async (req, reply) => {
    adminOnly(req)
    await revokeRole(db, req.params.projectId, req.params.userId, req.params.role)
    return reply.code(204).send()
  })

  v3.get('/v3/role_assignments', async (req) => {
    const userId = queryParam(req, 'user.id')
    // A user may list its own assignments (Keystone allows it with a `user.id` filter of itself).
    if (userId !== req.principal.userId) adminOnly(req)
    const unsupportedScope = ['group.id', 'scope.domain.id', 'scope.system', 'scope.OS-INHERIT:inherited_to'].some((k) => queryParam(req, k) !== undefined)
    const rows = unsupportedScope ? [] : await listAssignments(db, { userId, projectId: queryParam(req, 'scope.project.id'), role: queryParam(req, 'role.id') })
    const names = queryParam(req, 'include_names') !== undefined && queryParam(req, 'include_names') !== 'false'
    return collection(baseUrl(req), 'role_assignments', 'role_assignments', rows.map((a) => assignmentView(baseUrl(req), a, names)))
  })
}
