/**
 * Coffer's own admin route (Trove has none): `POST /mgmt/shutdown` stops every engine of the node
 * and then the server (`coffer shutdown --all`); the engines start again at the next `coffer serve`.
 * Answered first, then done: the answer could not be sent by a server that has stopped.
 */
import type { FastifyInstance } from 'fastify'
import { NotImplemented } from '../../core/errors.js'
import { requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'

export function shutdownRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { projectId: string } }>('/v1.0/:projectId/mgmt/shutdown', async (req, reply) => {
    requireAdmin(req)
    const shutdown = ctx.shutdown
    if (!shutdown) throw new NotImplemented('This server cannot shut its node down (not the embedded mode).')
    reply.raw.once('finish', () => setImmediate(shutdown))
    return reply.code(202).send({ shutdown: { pid: process.pid, engines: 'stopping', server: 'stopping' } })
  })
}
