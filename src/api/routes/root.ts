/**
 * `/instances/{id}/root`: enable the engine superuser with a fresh random password (shown once),
 * tell whether root was ever enabled, disable it. Admins reach any project's instances the same way.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { validatePassword } from '../../core/validation.js'
import { generatePassword } from '../../identity/passwords.js'
import { findClientInstance, updateInstance } from '../../store/repos/instances.js'
import { NotFound } from '../../core/errors.js'
import { requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'
import { readyInstance, type InstanceParams } from '../instance-guest.js'
import { troveTime } from '../links.js'
import { parseBody } from '../parse.js'

const EnableBody = z.object({ password: z.string().optional() }).optional()

export function rootRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<InstanceParams>('/v1.0/:projectId/instances/:instanceId/root', async (req) => {
    const inst = await readyInstance(ctx, req, 'root')
    const body = req.body === undefined ? undefined : parseBody(EnableBody, req.body)
    // A generated password is long and random; only a chosen one can be weak.
    const password = body?.password ?? generatePassword()
    validatePassword(inst.manifest.names, 'root', password, body?.password === undefined ? 0 : ctx.settings.minPasswordLength)
    const { name } = await inst.schema<{ name: string }>({ op: 'enable-root', password })
    if (!inst.row.root_enabled_at) await updateInstance(ctx.db, inst.row.id, { root_enabled_at: new Date().toISOString(), root_enabled_by: req.principal.userId })
    return { user: { name, password } }
  })

  app.get<InstanceParams>('/v1.0/:projectId/instances/:instanceId/root', async (req) => {
    const inst = await readyInstance(ctx, req, 'root')
    return { rootEnabled: inst.row.root_enabled_at !== null }
  })

  app.delete<InstanceParams>('/v1.0/:projectId/instances/:instanceId/root', async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'root')
    await inst.schema({ op: 'disable-root' })
    return reply.code(204).send()
  })

  // Trove's mgmt root history: when root was first enabled on an instance, and by whom.
  app.get<InstanceParams>('/v1.0/:projectId/mgmt/instances/:instanceId/root', async (req) => {
    requireAdmin(req)
    const row = await findClientInstance(ctx.db, req.params.instanceId, undefined)
    if (!row) throw new NotFound(`Resource ${req.params.instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
    return { root_history: { id: row.id, enabled: troveTime(row.root_enabled_at) ?? 'Never', user: row.root_enabled_by ?? 'Nobody' } }
  })
}
