/**
 * Trove's replica set actions: `promote_to_replica_source` (a planned switchover, source and
 * replicas healthy), `eject_replica_source` (the source is lost: the most advanced replica takes
 * its place) and detach (`PUT {"instance": {"replica_of": null}}`, tempest sends ""). Each holds
 * every member it moves (PROMOTE, EJECT, DETACH) in one transaction before its task is queued, so
 * a 4xx changes nothing and no two set operations interleave.
 */
import { BadRequest, Unprocessable } from '../core/errors.js'
import { isReady, type TaskStatus } from '../core/instance.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { updateInstance } from '../store/repos/instances.js'
import { transition } from '../store/repos/transition.js'
import type { Db, InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import type { AutomaticFailover } from '../tasks/replica-set.js'
import type { ApiContext } from './context.js'

/** What a set operation needs of the API's context (the failover watch has only these). */
export type SetContext = Pick<ApiContext, 'db' | 'kickTasks'>
import { statusInputs } from './views/instance.js'

type SetKind = 'promote-replica' | 'eject-source' | 'detach-replica'
const HOLD: Record<SetKind, TaskStatus> = { 'promote-replica': 'PROMOTING', 'eject-source': 'EJECTING', 'detach-replica': 'DETACHING' }

const requireReplica = (row: InstanceRow, action: string): string => {
  if (!row.replica_of) throw new BadRequest(`Instance ${row.id} is not a replica: ${action} is asked of a replica.`)
  return row.replica_of
}

async function members(db: Db, sourceId: string): Promise<InstanceRow[]> {
  return db.selectFrom('instances').selectAll().where((eb) => eb.or([eb('id', '=', sourceId), eb('replica_of', '=', sourceId)])).orderBy('created_at').execute()
}

async function hold(ctx: SetContext, kind: SetKind, replica: InstanceRow, source: string, held: readonly InstanceRow[], automatic?: AutomaticFailover): Promise<void> {
  const queued = await ctx.db.transaction().execute(async (trx) => {
    for (const m of held) if (!(await transition(trx, m.id, 'NONE', HOLD[kind]))) return m.id
    await enqueue(trx, { instanceId: replica.id, kind, input: { replicaId: replica.id, sourceId: source, members: held.map((m) => m.id), ...(automatic ? { automatic } : {}) } })
    return undefined
  })
  if (queued) throw new Unprocessable(`Instance ${queued} of the replica set is busy with another operation; try again when it is done.`)
  ctx.kickTasks()
}

export async function promoteToReplicaSource(ctx: SetContext, row: InstanceRow): Promise<void> {
  const source = requireReplica(row, 'promote_to_replica_source')
  const set = await members(ctx.db, source)
  const notReady = set.filter((m) => !isReady(statusInputs(m)))
  if (notReady.length > 0) {
    throw new Unprocessable(`Every member of the replica set must be ACTIVE for a planned promote; not ready: ${notReady.map((m) => m.id).join(', ')}. If the source is lost, use eject_replica_source.`)
  }
  await hold(ctx, 'promote-replica', row, source, set)
}

/** `automatic`: asked by the failover watch, which says what may be lost (the events tell it). */
export async function ejectReplicaSource(ctx: SetContext, row: InstanceRow, automatic?: AutomaticFailover): Promise<void> {
  const source = requireReplica(row, 'eject_replica_source')
  const set = await members(ctx.db, source)
  const src = set.find((m) => m.id === source)
  if (src && isReady(statusInputs(src)) && src.service_status === 'HEALTHY') {
    throw new BadRequest(`The source ${source} is healthy: eject is for a source that is lost. Use promote_to_replica_source for a switchover.`)
  }
  const replicas = set.filter((m) => m.id !== source)
  const busy = replicas.filter((m) => m.task_status !== 'NONE')
  if (busy.length > 0) throw new Unprocessable(`Replica(s) ${busy.map((m) => m.id).join(', ')} are busy with another operation.`)
  await hold(ctx, 'eject-source', row, source, src && src.task_status === 'NONE' ? set : replicas, automatic)
}

export async function detachReplica(ctx: SetContext, row: InstanceRow): Promise<void> {
  const source = requireReplica(row, 'detaching')
  if (!isReady(statusInputs(row))) throw new Unprocessable(`Instance ${row.id} is not ready.`)
  await hold(ctx, 'detach-replica', row, source, [row])
}

/**
 * `PUT {"instance": {"sync": true|false}}` on any member: the set's source acknowledges commits only
 * once one of its replicas has them (or no longer waits), told at once; kept on the source, so a
 * replica made or promoted later follows the choice.
 */
export async function setSync(ctx: ApiContext, row: InstanceRow, on: boolean): Promise<void> {
  const source = row.replica_of ? await ctx.db.selectFrom('instances').selectAll().where('id', '=', row.replica_of).executeTakeFirst() : row
  if (!source) throw new BadRequest(`The source ${row.replica_of} of instance ${row.id} is gone.`)
  const version = await findVersionById(ctx.db, source.datastore_version_id)
  if (!version || !manifestOf(version).synchronousReplication) throw new BadRequest('This datastore has no synchronous replication.')
  if (!isReady(statusInputs(source))) throw new Unprocessable(`The source ${source.id} is not ready.`)
  const replicas = await ctx.db.selectFrom('instances').select('id').where('replica_of', '=', source.id).orderBy('created_at').execute()
  const { api, spec } = await ctx.guestOf(source)
  await api.setSynchronous(spec, on ? replicas.map((r) => r.id) : [])
  await updateInstance(ctx.db, source.id, { sync_replication: on ? 1 : 0 })
}
