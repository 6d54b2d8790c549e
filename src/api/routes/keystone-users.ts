/**
 * `/v3/users` (`openstack user create|list|show|set|delete`, `openstack user password set`).
 * A user may show itself and change its own password; everything else is the cloud admin's.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { Forbidden } from '../../core/errors.js'
import { changeOwnPassword, createUser, deleteUser, findUser, listUsers, updateUser } from '../../identity/users.js'
import type { Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'
import { collection, DEFAULT_DOMAIN, userView } from '../views/keystone.js'
import { adminOnly, otherDomain, queryParam, selfOrAdmin } from './keystone-access.js'
import { IDENTITY_NAME } from './keystone-projects.js'

const PASSWORD = z.string({ message: 'a password is needed (--password)' }).min(8, 'must be at least 8 characters').max(4096)
const ENABLED = z.literal(true, { message: 'users cannot be disabled here; delete the user instead' }).optional()
const DOMAIN_ID = z.literal(DEFAULT_DOMAIN.id, { message: `the only domain is '${DEFAULT_DOMAIN.id}'` }).optional()

// Keystone's other fields (description, email, options) are accepted and not kept.
const CreateBody = z.object({
  user: z.object({ name: IDENTITY_NAME, password: PASSWORD, default_project_id: z.string().min(1).optional(), domain_id: DOMAIN_ID, enabled: ENABLED }),
})
const UpdateBody = z.object({
  user: z.object({ name: IDENTITY_NAME.optional(), password: PASSWORD.optional(), default_project_id: z.string().min(1).nullable().optional(), enabled: ENABLED }),
})
const PasswordBody = z.object({ user: z.object({ password: PASSWORD, original_password: z.string({ message: 'the current password is needed (--original-password)' }) }) })

type Id = { Params: { id: string } }

export function keystoneUserRoutes(v3: FastifyInstance, db: Db): void {
  v3.get('/v3/users', async (req) => {
    adminOnly(req)
    const rows = otherDomain(req) ? [] : await listUsers(db, { name: queryParam(req, 'name') })
    return collection(baseUrl(req), 'users', 'users', rows.map((u) => userView(baseUrl(req), u)))
  })
  v3.get<Id>('/v3/users/:id', async (req) => {
    selfOrAdmin(req, req.params.id)
    return { user: userView(baseUrl(req), await findUser(db, req.params.id)) }
  })
  v3.post('/v3/users', async (req, reply) => {
    adminOnly(req)
    const { user } = parseBody(CreateBody, req.body)
    const row = await createUser(db, { name: user.name, password: user.password, defaultProjectId: user.default_project_id })
    return reply.code(201).send({ user: userView(baseUrl(req), row) })
  })
  v3.patch<Id>('/v3/users/:id', async (req) => {
    adminOnly(req)
    const { user } = parseBody(UpdateBody, req.body)
    const row = await updateUser(db, req.params.id, { name: user.name, password: user.password, defaultProjectId: user.default_project_id })
    return { user: userView(baseUrl(req), row) }
  })
  // Keystone lets only the user itself use this call, with its current password; the admin uses PATCH.
  v3.post<Id>('/v3/users/:id/password', async (req, reply) => {
    if (req.params.id !== req.principal.userId) throw new Forbidden('Only the user itself changes its password this way; the cloud admin uses PATCH /v3/users/{id}.')
    const { user } = parseBody(PasswordBody, req.body)
    await changeOwnPassword(db, req.params.id, user.original_password, user.password)
    return reply.code(204).send()
  })
  v3.delete<Id>('/v3/users/:id', async (req, reply) => {
    adminOnly(req)
    await deleteUser(db, req.params.id, req.principal.userId)
    return reply.code(204).send()
  })
}
