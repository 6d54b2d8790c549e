import type { FastifyInstance } from 'fastify'
import { baseUrl } from '../links.js'

const v1 = (base: string) => ({ id: 'v1.0', status: 'CURRENT', updated: '2012-08-01T00:00:00Z', links: [{ rel: 'self', href: `${base}/v1.0/` }] })

/** Version discovery; no token needed. */
export function versionRoutes(app: FastifyInstance): void {
  app.get('/', async (req) => ({ versions: [v1(baseUrl(req))] }))
  app.get('/v1.0', async (req) => ({ version: v1(baseUrl(req)) }))
  app.get('/v1.0/', async (req) => ({ version: v1(baseUrl(req)) }))
}
