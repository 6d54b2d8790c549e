/**
 * PUT (and the deprecated PATCH) /instances/{id}: rename, attach or detach a configuration group.
 * As in Trove, only one attribute besides `name` changes per call; `{"instance": {}}` detaches.
 */
import { z } from 'zod'
import { BadRequest, NotFound, NotImplemented, Unprocessable } from '../core/errors.js'
import { readyForConfiguration } from '../core/configuration.js'
import { validateInstanceName } from '../core/validation.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findClientInstance, updateInstance } from '../store/repos/instances.js'
import { enqueueTask } from '../store/repos/tasks.js'
import type { ApiContext } from './context.js'
import { parseBody } from './parse.js'
import { requireConfiguration } from './routes/configurations.js'
import { statusInputs } from './views/instance.js'

const UpdateBody = z.object({ instance: z.record(z.string(), z.unknown()) })
const UNSUPPORTED: Record<string, string> = { replica_of: 'detaching replicas', slave_of: 'detaching replicas', access: 'changing access', datastore_version: 'upgrades' }

/** `projectId` undefined: the cloud admin's lookup in any project (auth.ts projectScope). */
export async function updateInstanceAttributes(ctx: ApiContext, projectId: string | undefined, instanceId: string, body: unknown): Promise<void> {
  const row = await findClientInstance(ctx.db, instanceId, projectId)
  if (!row) throw new NotFound(`Resource ${instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
  const { instance: attrs } = parseBody(UpdateBody, body)
  const others = Object.keys(attrs).filter((k) => k !== 'name')
  if (others.length > 1) throw new BadRequest("Only one attribute (except 'name') is allowed to update.")
  const other = others[0]
  if (other && UNSUPPORTED[other]) throw new NotImplemented(`Updating ${other} (${UNSUPPORTED[other]}) is not supported yet.`)
  if (other && other !== 'configuration') throw new BadRequest(`Instance attribute '${other}' cannot be updated.`)

  if (attrs.name !== undefined) {
    if (typeof attrs.name !== 'string') throw new BadRequest("Validation error: instance['name'] must be a string.")
    validateInstanceName(attrs.name)
    await updateInstance(ctx.db, row.id, { name: attrs.name })
  }
  // Detach when `configuration` is null, or when the body names nothing at all (Trove).
  const detach = other === 'configuration' ? attrs.configuration === null : Object.keys(attrs).length === 0
  const attach = other === 'configuration' && attrs.configuration !== null ? attrs.configuration : undefined
  if (!detach && attach === undefined) return
  // A failed apply leaves the instance in ERROR but usable: a detach or another group is the way out.
  if (!readyForConfiguration(statusInputs(row))) throw new Unprocessable(`Instance ${row.id} is not ready.`)
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  if (!version || !manifestOf(version).capabilities.configuration) throw new NotImplemented('This datastore has no configuration parameters.')
  if (attach !== undefined) {
    if (typeof attach !== 'string') throw new BadRequest("Validation error: instance['configuration'] must be a configuration group id or null.")
    const group = await requireConfiguration(ctx.db, attach, row.project_id)
    if (group.datastore_version_id !== row.datastore_version_id) throw new BadRequest(`Configuration group ${group.id} is for another datastore version than instance ${row.id}.`)
    if (row.configuration_id === group.id) return
    if (row.configuration_id) throw new BadRequest(`Instance ${row.id} already has configuration group ${row.configuration_id} attached; detach it first.`)
  } else if (!row.configuration_id) {
    return
  }
  await ctx.db.transaction().execute(async (trx) => {
    await updateInstance(trx, row.id, { configuration_id: attach ?? null })
    await enqueueTask(trx, { instanceId: row.id, kind: 'apply-configuration', input: { instanceId: row.id } })
  })
  ctx.kickTasks()
}
