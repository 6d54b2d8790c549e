/**
 * `/instances/{id}/users`: list (paged), create, show, update attributes, bulk password change,
 * delete; and a user's access: list, grant, revoke. A user in a path is `name` or `name@host`.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, NotFound } from '../../core/errors.js'
import type { DatastoreManifest } from '../../core/manifest.js'
import { refuseDuplicateUsers } from '../../core/schema-retry.js'
import { limitItems, printable, validateName, validatePassword, validateUserHost } from '../../core/validation.js'
import type { GuestDatabase, GuestUserInfo, UserRef } from '../../guest/protocol.js'
import type { ApiContext } from '../context.js'
import { page, readyInstance, type InstanceParams, type ReadyInstance } from '../instance-guest.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'

const nameRef = z.object({ name: z.string() })
const UserIn = z.object({ name: z.string(), password: z.string({ error: 'is required' }), host: z.string().optional(), databases: z.array(nameRef).default([]) })
const CreateBody = z.object({ users: z.array(UserIn).min(1, 'name at least one user') })
const PasswordsBody = z.object({ users: z.array(z.object({ name: z.string(), password: z.string(), host: z.string().optional() })).min(1) })
const UpdateBody = z.object({ user: z.object({ name: z.string().optional(), password: z.string().optional(), host: z.string().optional() }) })
const GrantBody = z.object({ databases: z.array(nameRef).min(1, 'name at least one database') })

type P = InstanceParams & { Params: { user: string; db: string }; Querystring: { limit?: string; marker?: string } }

/** `alice` or `alice@%` (troveclient sends `name@host` URL-encoded). */
function parseUserRef(m: DatastoreManifest, raw: string): UserRef {
  const at = raw.lastIndexOf('@')
  const ref = at > 0 && m.userHosts ? { name: raw.slice(0, at), host: raw.slice(at + 1) } : { name: raw }
  validateName(m.names, 'user', ref.name)
  return ref
}

const checkHost = validateUserHost

const sameUser = (m: DatastoreManifest, ref: UserRef) => (u: GuestUserInfo) => u.name === ref.name && (!m.userHosts || (u.host ?? '%') === (ref.host ?? '%'))

async function requireUser(inst: ReadyInstance, ref: UserRef): Promise<GuestUserInfo> {
  const user = (await inst.schema<GuestUserInfo[]>({ op: 'list-users' })).find(sameUser(inst.manifest, ref))
  if (!user) throw new NotFound(`User ${printable(ref.name)}${ref.host ? `@${printable(ref.host)}` : ''} cannot be found on instance ${inst.row.id}.`)
  return user
}

async function requireDatabases(inst: ReadyInstance, names: readonly string[]): Promise<void> {
  for (const n of names) validateName(inst.manifest.names, 'database', n)
  if (names.length === 0) return
  const existing = new Set((await inst.schema<GuestDatabase[]>({ op: 'list-databases' })).map((d) => d.name))
  const missing = names.find((n) => !existing.has(n))
  if (missing) throw new NotFound(`Database ${missing} cannot be found on instance ${inst.row.id}.`)
}

const userView = (m: DatastoreManifest, u: GuestUserInfo) => ({ name: u.name, ...(m.userHosts ? { host: u.host ?? '%' } : {}), databases: u.databases.map((d) => ({ name: d.name })) })

export function userRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const path = '/v1.0/:projectId/instances/:instanceId/users'

  app.get<P>(path, async (req) => {
    const inst = await readyInstance(ctx, req, 'users')
    const all = await inst.schema<GuestUserInfo[]>({ op: 'list-users' })
    const base = `${baseUrl(req)}/v1.0/${req.params.projectId}/instances/${inst.row.id}/users`
    const { items, links } = page(all, req.query, (marker, limit) => `${base}?limit=${limit}&marker=${encodeURIComponent(marker)}`)
    return { users: items.map((u) => userView(inst.manifest, u)), ...(links.length ? { links } : {}) }
  })

  app.post<P>(path, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const { users } = parseBody(CreateBody, req.body)
    const m = inst.manifest
    limitItems('users', users.length)
    for (const u of users) {
      validateName(m.names, 'user', u.name)
      validatePassword(m.names, u.name, u.password, ctx.settings.minPasswordLength)
      checkHost(m, u.host)
    }
    if (new Set(users.map((u) => `${u.name}@${u.host ?? ''}`)).size !== users.length) throw new BadRequest('A user is listed twice.')
    await requireDatabases(inst, [...new Set(users.flatMap((u) => u.databases.map((d) => d.name)))])
    refuseDuplicateUsers(await inst.schema<GuestUserInfo[]>({ op: 'list-users' }), users, !!m.userHosts)
    await inst.schema({ op: 'create-users', users })
    return reply.code(202).send()
  })

  // Bulk password change (troveclient `user-update-attributes` on many users / `change_passwords`).
  app.put<P>(path, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const { users } = parseBody(PasswordsBody, req.body)
    limitItems('users', users.length)
    for (const u of users) {
      validateName(inst.manifest.names, 'user', u.name)
      validatePassword(inst.manifest.names, u.name, u.password, ctx.settings.minPasswordLength)
      checkHost(inst.manifest, u.host)
      await requireUser(inst, u)
    }
    for (const u of users) await inst.schema({ op: 'update-user', user: { name: u.name, host: u.host }, changes: { password: u.password } })
    return reply.code(202).send()
  })

  app.get<P>(`${path}/:user`, async (req) => {
    const inst = await readyInstance(ctx, req, 'users')
    return { user: userView(inst.manifest, await requireUser(inst, parseUserRef(inst.manifest, req.params.user))) }
  })

  app.put<P>(`${path}/:user`, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const m = inst.manifest
    const ref = parseUserRef(m, req.params.user)
    const { user: changes } = parseBody(UpdateBody, req.body)
    if (changes.name === undefined && changes.password === undefined && changes.host === undefined) throw new BadRequest('Give at least one of "name", "password" and "host" to change.')
    if (changes.name !== undefined) validateName(m.names, 'user', changes.name)
    if (changes.password !== undefined) validatePassword(m.names, ref.name, changes.password, ctx.settings.minPasswordLength)
    checkHost(m, changes.host)
    await requireUser(inst, ref)
    const target = { name: changes.name ?? ref.name, host: changes.host ?? ref.host }
    const renamed = target.name !== ref.name || (m.userHosts && (target.host ?? '%') !== (ref.host ?? '%'))
    if (renamed && (await inst.schema<GuestUserInfo[]>({ op: 'list-users' })).some(sameUser(m, target))) {
      throw new BadRequest(`A user with the name "${target.name}" already exists.`)
    }
    await inst.schema({ op: 'update-user', user: ref, changes })
    return reply.code(202).send()
  })

  app.delete<P>(`${path}/:user`, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const ref = parseUserRef(inst.manifest, req.params.user)
    await requireUser(inst, ref)
    await inst.schema({ op: 'delete-user', user: ref })
    return reply.code(202).send()
  })

  app.get<P>(`${path}/:user/databases`, async (req) => {
    const inst = await readyInstance(ctx, req, 'users')
    const user = await requireUser(inst, parseUserRef(inst.manifest, req.params.user))
    return { databases: user.databases.map((d) => ({ name: d.name })) }
  })

  app.put<P>(`${path}/:user/databases`, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const ref = parseUserRef(inst.manifest, req.params.user)
    const { databases } = parseBody(GrantBody, req.body)
    await requireUser(inst, ref)
    await requireDatabases(inst, databases.map((d) => d.name))
    await inst.schema({ op: 'grant', user: ref, databases: databases.map((d) => d.name) })
    return reply.code(202).send()
  })

  app.delete<P>(`${path}/:user/databases/:db`, async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'users')
    const ref = parseUserRef(inst.manifest, req.params.user)
    await requireUser(inst, ref)
    await requireDatabases(inst, [req.params.db])
    await inst.schema({ op: 'revoke', user: ref, database: req.params.db })
    return reply.code(202).send()
  })
}
