/**
 * `{"resize": {"flavorRef": ...}}`: checks the new flavor (it exists, differs, fits a node, holds the
 * engine and its configuration group), then marks the instance RESIZE and queues the resize in one
 * transaction. A 4xx changes nothing.
 */
import { z } from 'zod'
import { checkFlavorFits } from '../core/flavor-fit.js'
import { BadRequest, OverLimit, Unprocessable } from '../core/errors.js'
import { isReady } from '../core/instance.js'
import { overridesFor } from '../store/repos/configurations.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findFlavor } from '../store/repos/flavors.js'
import { transition } from '../store/repos/transition.js'
import type { InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import type { ApiContext } from './context.js'
import { parseBody } from './parse.js'
import { statusInputs } from './views/instance.js'

const ResizeBody = z.object({ resize: z.object({ flavorRef: z.union([z.string(), z.number()], { error: 'is required (a flavor id; see `coffer flavor-list`)' }).transform(String) }) })

export async function resizeFlavor(ctx: ApiContext, row: InstanceRow, body: unknown): Promise<void> {
  const { resize } = parseBody(ResizeBody, body)
  const flavor = await findFlavor(ctx.db, resize.flavorRef)
  if (!flavor) throw new BadRequest(`Resource ${resize.flavorRef} cannot be found. See \`coffer flavor-list\` for the flavors there are.`, 'FLAVOR_NOT_FOUND')
  // Trove's wording (CannotResizeToSameSize's sibling in trove/instance/models.py).
  if (flavor.id === row.flavor_id) throw new BadRequest(`The new flavor id must be different than the current flavor id of '${row.flavor_id}'.`)
  if (!isReady(statusInputs(row))) throw new Unprocessable(`Instance ${row.id} is not ACTIVE; only an ACTIVE instance can be resized.`)
  if (flavor.ram_mb > ctx.capacity.ramMb || flavor.vcpus > ctx.capacity.vcpus) {
    throw new OverLimit(`Flavor ${flavor.id} (${flavor.ram_mb} MB RAM, ${flavor.vcpus} vCPUs) is larger than any node can give: at most ${ctx.capacity.ramMb} MB RAM and ${ctx.capacity.vcpus} vCPUs.`)
  }
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  if (version) checkFlavorFits(manifestOf(version), flavor, await overridesFor(ctx.db, row))

  const queued = await ctx.db.transaction().execute(async (trx) => {
    if (!(await transition(trx, row.id, 'NONE', 'RESIZING'))) return false
    await enqueue(trx, { instanceId: row.id, kind: 'resize-instance', input: { instanceId: row.id, flavorId: flavor.id, oldFlavorId: row.flavor_id } })
    return true
  })
  if (!queued) throw new Unprocessable(`Instance ${row.id} is not ready: another operation began on it.`)
  ctx.kickTasks()
}
