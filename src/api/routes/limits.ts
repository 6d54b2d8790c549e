import type { FastifyInstance } from 'fastify'
import type { Settings } from '../../config.js'

type P = { Params: { projectId: string } }

/** Absolute limits as Trove reports them; Coffer has no per-verb rate limits. */
export function limitRoutes(app: FastifyInstance, settings: Settings): void {
  app.get<P>('/v1.0/:projectId/limits', async () => ({
    limits: [{ verb: 'ABSOLUTE', max_instances: settings.maxInstancesPerProject, max_ram: -1, max_backups: 50, max_volumes: 40 }],
  }))
}
