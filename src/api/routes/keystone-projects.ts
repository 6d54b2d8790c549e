/**
 * `/v3/projects`, `/v3/domains` and the project lists of a user (`openstack project ...`).
 * `openstack` finds a project by name by asking `GET /v3/projects/{name}` (404) and then
 * `GET /v3/projects?name=`, so both answer as Keystone does.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, NotFound } from '../../core/errors.js'
import { createProject, deleteProject, findProject, listProjects } from '../../identity/projects.js'
import type { Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'
import { collection, DEFAULT_DOMAIN, domainView, projectView } from '../views/keystone.js'
import { adminOnly, otherDomain, queryParam, selfOrAdmin } from './keystone-access.js'

export const IDENTITY_NAME = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, 'use letters, digits and _ . @ -')
const DOMAIN_ID = z.literal(DEFAULT_DOMAIN.id, { message: `the only domain is '${DEFAULT_DOMAIN.id}'` }).optional()

// Keystone's other fields (description, enabled, tags, options) are accepted and not kept.
const ProjectBody = z.object({
  project: z.object({ name: IDENTITY_NAME, domain_id: DOMAIN_ID, parent_id: DOMAIN_ID, is_domain: z.literal(false, { message: 'projects acting as domains are not supported' }).optional() }),
})

type Id = { Params: { id: string } }

export function keystoneProjectRoutes(v3: FastifyInstance, db: Db, adminProject: string): void {
  v3.get('/v3/projects', async (req) => {
    adminOnly(req)
    const rows = otherDomain(req) ? [] : await listProjects(db, { name: queryParam(req, 'name') })
    return collection(baseUrl(req), 'projects', 'projects', rows.map((p) => projectView(baseUrl(req), p)))
  })
  v3.get<Id>('/v3/projects/:id', async (req) => {
    // A user may see a project it has a role on (Keystone's `identity:get_project` for members).
    if (req.params.id !== req.principal.projectId) adminOnly(req)
    return { project: projectView(baseUrl(req), await findProject(db, req.params.id)) }
  })
  v3.post('/v3/projects', async (req, reply) => {
    adminOnly(req)
    const { project } = parseBody(ProjectBody, req.body)
    return reply.code(201).send({ project: projectView(baseUrl(req), await createProject(db, project.name)) })
  })
  v3.delete<Id>('/v3/projects/:id', async (req, reply) => {
    adminOnly(req)
    await deleteProject(db, req.params.id, adminProject)
    return reply.code(204).send()
  })
  v3.get<Id>('/v3/users/:id/projects', async (req) => {
    selfOrAdmin(req, req.params.id)
    const rows = await listProjects(db, { userId: req.params.id, name: queryParam(req, 'name') })
    return collection(baseUrl(req), `users/${req.params.id}/projects`, 'projects', rows.map((p) => projectView(baseUrl(req), p)))
  })
  v3.get('/v3/auth/projects', async (req) => {
    const rows = await listProjects(db, { userId: req.principal.userId })
    return collection(baseUrl(req), 'auth/projects', 'projects', rows.map((p) => projectView(baseUrl(req), p)))
  })

  v3.get('/v3/domains', async (req) => {
    const name = queryParam(req, 'name')
    const matches = name === undefined || name === DEFAULT_DOMAIN.name
    return collection(baseUrl(req), 'domains', 'domains', matches ? [domainView(baseUrl(req))] : [])
  })
  v3.get<Id>('/v3/domains/:id', async (req) => {
    if (req.params.id !== DEFAULT_DOMAIN.id) throw new NotFound(`Could not find domain: ${req.params.id}. The only domain is '${DEFAULT_DOMAIN.id}' (${DEFAULT_DOMAIN.name}).`)
    return { domain: domainView(baseUrl(req)) }
  })
  v3.post('/v3/domains', async (req) => {
    adminOnly(req)
    throw new BadRequest(`Coffer has one domain, '${DEFAULT_DOMAIN.id}' (${DEFAULT_DOMAIN.name}); more cannot be made.`)
  })
}
