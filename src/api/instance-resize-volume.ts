/**
 * `POST /instances/{id}/action {"resize": {"volume": {"size": N}}}`, as Trove takes it: the volume
 * only grows (same or smaller is a 400 in Trove's words), the instance must be ready (422), and the
 * new size must fit the largest volume allowed and the project's volume quota (413). The grow runs
 * as a durable task; the instance shows RESIZE meanwhile and the new size once it is done.
 */
import type { FastifyRequest } from 'fastify'
import { BadRequest, OverLimit, Unprocessable } from '../core/errors.js'
import { instanceStatus, isReady } from '../core/instance.js'
import { checkQuota } from '../core/quotas.js'
import { quotaLimits, quotaUsage } from '../store/repos/quotas.js'
import { transition } from '../store/repos/transition.js'
import type { InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import type { ApiContext } from './context.js'
import { defaultQuotas } from './routes/quotas.js'
import { statusInputs } from './views/instance.js'

/** The new size from Trove's body; a 400 for anything but a whole number of GB. */
export function parseVolumeSize(volume: unknown): number {
  const size = (volume as { size?: unknown } | null)?.size
  const n = typeof size === 'string' && /^\d+$/.test(size) ? Number(size) : size
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new BadRequest(`The volume 'size' must be a whole number of GB, 1 or more, e.g. {"resize": {"volume": {"size": 2}}}; got ${JSON.stringify(size)?.slice(0, 40) ?? 'nothing'}.`)
  }
  return n
}

/** Queues the grow; the caller answers 202. */
export async function resizeVolume(ctx: ApiContext, _req: FastifyRequest, row: InstanceRow, body: { readonly resize: { readonly volume?: unknown } }): Promise<void> {
  const size = parseVolumeSize(body.resize.volume)
  const s = statusInputs(row)
  if (!isReady(s)) throw new Unprocessable(`Instance is not currently available for an action to be performed (status was ${instanceStatus(s)}).`)
  if (size <= row.volume_size) throw new BadRequest(`The new volume 'size' must be larger than the current volume size of '${row.volume_size}'.`)
  if (size > ctx.settings.maxVolumeGb) throw new OverLimit(`Volume size ${size} GB is over the largest allowed, ${ctx.settings.maxVolumeGb} GB.`)
  const queued = await ctx.db.transaction().execute(async (trx) => {
    checkQuota(await quotaLimits(trx, row.project_id, defaultQuotas(ctx.settings)), await quotaUsage(trx, row.project_id), { volumes: size - row.volume_size })
    if (!(await transition(trx, row.id, 'NONE', 'RESIZING'))) return false
    await enqueue(trx, { instanceId: row.id, kind: 'resize-volume', input: { instanceId: row.id, size } })
    return true
  })
  if (!queued) throw new Unprocessable(`Instance ${row.id} is not ready: another operation began on it.`)
  ctx.kickTasks()
}
