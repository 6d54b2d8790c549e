/**
 * Coffer's admin view of its nodes (Trove has none: Nova's hypervisors play the part): each node's
 * state, capacity, and which limits it enforces on instances (memory and CPU through cgroups, or
 * none; volumes as file systems of their own, or folders watched for their use).
 */
import type { FastifyInstance } from 'fastify'
import { listNodes } from '../../store/repos/nodes.js'
import { requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'

export function nodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { projectId: string } }>('/v1.0/:projectId/mgmt/nodes', async (req) => {
    requireAdmin(req)
    return {
      nodes: (await listNodes(ctx.db)).map((n) => ({
        name: n.name,
        state: n.state,
        addresses: n.addresses,
        capacity: { ram_mb: n.capacity.ramMb, vcpus: n.capacity.vcpus, disk_gb: n.capacity.diskGb },
        limits: n.limits ?? { memory: 'unknown', cpu: 'unknown', volume: 'unknown' },
        datastores: n.manifests.map((m) => ({ name: m.name, versions: m.versions.map((v) => v.name) })),
        last_heartbeat: new Date(n.lastHeartbeat).toISOString(),
      })),
    }
  })
}
