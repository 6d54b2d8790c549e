/**
 * One log line per API mutation (any method but GET, HEAD, OPTIONS): method, path, project,
 * instance and status code, so an operator can follow who changed what. Never a body, header or
 * query string (a password or token could be there); a create's instance id is read from its answer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Log } from '../logger.js'

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function logMutations(app: FastifyInstance, log: Log): void {
  const created = new WeakMap<FastifyRequest, string>()
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method === 'POST' && req.routeOptions.url === '/v1.0/:projectId/instances' && reply.statusCode < 300 && typeof payload === 'string') {
      try {
        const id = (JSON.parse(payload) as { instance?: { id?: unknown } }).instance?.id
        if (typeof id === 'string') created.set(req, id)
      } catch {
        // not JSON: nothing to read
      }
    }
    return payload
  })
  app.addHook('onResponse', async (req, reply) => {
    if (READS.has(req.method)) return
    const params = (req.params ?? {}) as Record<string, string | undefined>
    const path = req.url.split('?')[0] ?? ''
    const instance = params.instanceId ?? created.get(req)
    const fields = {
      event: 'api',
      method: req.method,
      path,
      ...(params.projectId ? { project: params.projectId } : {}),
      ...(instance ? { instance } : {}),
      status: reply.statusCode,
    }
    log(`${req.method} ${path} ${reply.statusCode}${instance ? ` instance ${instance}` : ''}`, fields)
  })
}
