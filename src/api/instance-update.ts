/**
 * PUT (and the deprecated PATCH) /instances/{id}: rename, attach or detach a configuration group,
 * change access.
 * As in Trove, only one attribute besides `name` changes per call; `{"instance": {}}` detaches.
 */
import { z } from 'zod'
import { BadRequest, NotFound, NotImplemented, Unprocessable } from '../core/errors.js'
import { mayConfigure } from '../core/instance.js'
import { validateInstanceName } from '../core/validation.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findClientInstance, updateInstance } from '../store/repos/instances.js'
import type { InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import { appliesEnded } from './configuration-answer.js'
import type { ApiContext } from './context.js'
import { accessChange, applyAccess } from './instance-access-update.js'
import { detachReplica, setSync } from './replica-actions.js'
import { parseBody } from './parse.js'
import { requireConfiguration } from './routes/configurations.js'
import { statusInputs } from './views/instance.js'

const UpdateBody = z.object({ instance: z.record(z.string(), z.unknown()) })
const UNSUPPORTED: Record<string, string> = { datastore_version: 'upgrades' }
const DETACH = ['replica_of', 'slave_of']

/**
 * Checks everything the body asks for first (a 4xx changes nothing: no rename before a bad group
 * id), then renames, attaches or detaches and queues the apply in one transaction. An attach or
 * detach answers once the engine has the new values, or after the bounded wait (appliesEnded).
 * `projectId` undefined: the cloud admin's lookup in any project (auth.ts projectScope).
 */
export async function updateInstanceAttributes(ctx: ApiContext, projectId: string | undefined, instanceId: string, body: unknown): Promise<void> {
  const row = await findClientInstance(ctx.db, instanceId, projectId)
  if (!row) throw new NotFound(`Resource ${instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
  const { instance: attrs } = parseBody(UpdateBody, body)
  const others = Object.keys(attrs).filter((k) => k !== 'name')
  if (others.length > 1) throw new BadRequest("Only one attribute (except 'name') is allowed to update.")
  const other = others[0]
  if (other && UNSUPPORTED[other]) throw new NotImplemented(`Updating ${other} (${UNSUPPORTED[other]}) is not supported yet.`)
  if (other && DETACH.includes(other)) {
    // Trove's detach: replica_of null (tempest sends ""); naming another source is not a move Trove has.
    if (attrs[other] !== null && attrs[other] !== '') throw new BadRequest(`${other} can only be set to null, which detaches the replica.`)
    if (attrs.name !== undefined) throw new BadRequest("Only one attribute (except 'name') is allowed to update; detach without renaming.")
    return detachReplica(ctx, row)
  }
  if (other === 'sync') {
    if (typeof attrs.sync !== 'boolean') throw new BadRequest("Validation error: instance['sync'] must be true or false.")
    if (attrs.name !== undefined) throw new BadRequest("Only one attribute (except 'name') is allowed to update; change sync without renaming.")
    return setSync(ctx, row, attrs.sync)
  }
  if (other === 'auto_failover') {
    // The set's choice, kept on its source (named through any member).
    if (typeof attrs.auto_failover !== 'boolean') throw new BadRequest("Validation error: instance['auto_failover'] must be true or false.")
    if (attrs.name !== undefined) throw new BadRequest("Only one attribute (except 'name') is allowed to update; change auto_failover without renaming.")
    await updateInstance(ctx.db, row.replica_of ?? row.id, { auto_failover: attrs.auto_failover ? 1 : 0 })
    return
  }
  if (other && other !== 'configuration' && other !== 'access') throw new BadRequest(`Instance attribute '${other}' cannot be updated.`)
  const name = attrs.name
  if (name !== undefined) {
    if (typeof name !== 'string') throw new BadRequest("Validation error: instance['name'] must be a string.")
    validateInstanceName(name)
  }
  const configuration = await configurationChange(ctx, row, other === 'configuration', attrs)
  const access = other === 'access' ? await accessChange(ctx, row, attrs.access) : undefined

  const applies = await ctx.db.transaction().execute(async (trx) => {
    if (typeof name === 'string') await updateInstance(trx, row.id, { name })
    if (access) await applyAccess(trx, row, access)
    if (configuration === undefined) return []
    await updateInstance(trx, row.id, { configuration_id: configuration.id })
    return [await enqueue(trx, { instanceId: row.id, kind: 'apply-configuration', input: { instanceId: row.id } })]
  })
  if (access) ctx.kickTasks()
  await appliesEnded(ctx, applies)
}

/**
 * The group the instance should have after the request ({ id: null } to detach), or undefined when
 * its configuration does not change. Throws the request's 4xx before anything is written.
 */
async function configurationChange(ctx: ApiContext, row: InstanceRow, named: boolean, attrs: Record<string, unknown>): Promise<{ id: string | null } | undefined> {
  // Detach when `configuration` is null, or when the body names nothing at all (Trove).
  const detach = named ? attrs.configuration === null : Object.keys(attrs).length === 0
  const attach = named && attrs.configuration !== null ? attrs.configuration : undefined
  if (!detach && attach === undefined) return undefined
  // A failed apply or restart leaves the instance in ERROR but usable: a detach or another group is the way out.
  if (!mayConfigure(statusInputs(row))) throw new Unprocessable(`Instance ${row.id} is not ready.`)
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  if (!version || !manifestOf(version).capabilities.configuration) throw new NotImplemented('This datastore has no configuration parameters.')
  if (attach === undefined) return row.configuration_id ? { id: null } : undefined
  if (typeof attach !== 'string') throw new BadRequest("Validation error: instance['configuration'] must be a configuration group id or null.")
  const group = await requireConfiguration(ctx.db, attach, row.project_id)
  if (group.datastore_version_id !== row.datastore_version_id) throw new BadRequest(`Configuration group ${group.id} is for another datastore version than instance ${row.id}.`)
  if (row.configuration_id === group.id) return undefined
  if (row.configuration_id) throw new BadRequest(`Instance ${row.id} already has configuration group ${row.configuration_id} attached; detach it first.`)
  return { id: group.id }
}
