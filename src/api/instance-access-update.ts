/**
 * `access` in PUT/PATCH /instances/{id}: the new rules are written and the engine restarted to
 * render them (one restart, as a configuration change that needs one). A stopped instance only
 * records them: its start renders them. `is_public` alone needs no restart: the instance's address
 * comes from its node's pool either way, so it is only recorded once the node is found to give
 * public addresses.
 */
import { Unprocessable } from '../core/errors.js'
import { mayRestart } from '../core/instance.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { updateInstance } from '../store/repos/instances.js'
import { transition } from '../store/repos/transition.js'
import type { Db, InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import type { ApiContext } from './context.js'
import { accessColumns, parseAccess, type AccessColumns } from './instance-access.js'
import { requirePublicAddress } from './public-address.js'
import { statusInputs } from './views/instance.js'

/** The access columns after the request, or undefined when nothing changes. Throws the request's 4xx. */
export async function accessChange(ctx: ApiContext, row: InstanceRow, raw: unknown): Promise<AccessColumns | undefined> {
  const req = parseAccess(raw)
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  const manifest = version ? manifestOf(version) : { name: 'unknown' }
  const next = accessColumns(manifest, req, row)
  if (next.allowed_cidrs === row.allowed_cidrs && Number(next.is_public) === Number(row.is_public)) return undefined
  if (Number(next.is_public) === 1 && Number(row.is_public) !== 1) await requirePublicAddress(ctx.db, manifest.name, row.node)
  if (next.allowed_cidrs === row.allowed_cidrs) return next
  const s = statusInputs(row)
  if (!(s.stopped && s.taskStatus === 'NONE') && !mayRestart(s)) throw new Unprocessable(`Instance ${row.id} is not ready.`)
  return next
}

/** Inside the update's transaction: writes the rules and, unless the instance is stopped, queues the restart. */
export async function applyAccess(trx: Db, row: InstanceRow, access: AccessColumns): Promise<void> {
  await updateInstance(trx, row.id, access)
  if (Number(row.stopped) === 1 || access.allowed_cidrs === row.allowed_cidrs) return
  if (!(await transition(trx, row.id, 'NONE', 'REBOOTING'))) throw new Unprocessable(`Instance ${row.id} is not ready: another operation began on it.`)
  await enqueue(trx, { instanceId: row.id, kind: 'restart-instance', input: { instanceId: row.id } })
}
