/**
 * Coffer's own admin view of the spare pools (Trove has none): how many ready instances each
 * datastore keeps for fast creates, and each spare's state.
 */
import type { FastifyInstance } from 'fastify'
import { instanceStatus, isBuilding } from '../../core/instance.js'
import { wantedSpares } from '../../core/spares.js'
import { listDatastores, usedDatastores } from '../../store/repos/datastores.js'
import { isClaimable, listSpares } from '../../store/repos/spares.js'
import { requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'
import { troveTime } from '../links.js'
import { statusInputs } from '../views/instance.js'

export function spareRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { projectId: string } }>('/v1.0/:projectId/mgmt/spares', async (req) => {
    requireAdmin(req)
    const versions = new Map((await listDatastores(ctx.db)).flatMap((ds) => ds.versions.map((v) => [v.id, { type: ds.name, version: v.name }] as const)))
    const spares = await listSpares(ctx.db)
    const used = await usedDatastores(ctx.db)
    const policy = ctx.settings.spares
    // Named datastores, and under on-demand every datastore served (wanted 0 until first used).
    const served = policy.onceUsed > 0 ? (await listDatastores(ctx.db)).map((d) => d.name) : []
    const pools = [...new Set([...Object.keys(policy.sizes), ...served])].map((type) => {
      const mine = spares.filter((r) => versions.get(r.datastore_version_id)?.type === type)
      return { datastore: type, wanted: wantedSpares(policy, type, used.has(type)), ready: mine.filter(isClaimable).length, building: mine.filter((r) => isBuilding({ taskStatus: r.task_status })).length }
    })
    return {
      pools,
      spares: spares.map((r) => ({
        id: r.id,
        datastore: versions.get(r.datastore_version_id) ?? { type: 'unknown', version: 'unknown' },
        flavor: { id: r.flavor_id },
        status: isClaimable(r) ? 'READY' : instanceStatus(statusInputs(r)),
        ...(r.fault_message ? { fault: r.fault_message } : {}),
        created: troveTime(r.created_at),
      })),
    }
  })
}
