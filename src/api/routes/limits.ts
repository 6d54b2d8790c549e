import type { FastifyInstance } from 'fastify'
import type { Settings } from '../../config.js'
import { quotaLimits } from '../../store/repos/quotas.js'
import type { Db } from '../../store/schema.js'
import { defaultQuotas } from './quotas.js'

type P = { Params: { projectId: string } }

/**
 * The project's absolute limits in Trove's shape, only for what Coffer has: no per-verb rate
 * limits (Coffer has none to report).
 */
export function limitRoutes(app: FastifyInstance, db: Db, settings: Settings): void {
  app.get<P>('/v1.0/:projectId/limits', async (req) => {
    const q = await quotaLimits(db, req.params.projectId, defaultQuotas(settings))
    return { limits: [{ verb: 'ABSOLUTE', max_backups: q.backups, max_instances: q.instances, max_ram: -1, max_volumes: q.volumes }] }
  })
}
