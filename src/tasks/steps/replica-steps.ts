/**
 * Steps of replica sets: seeding a replica from its source, and the set operations (promote a
 * replica in a planned switchover, eject a dead source, detach a replica). Each reads the set fresh
 * from the state store, tells the members' nodes what to do, and writes where each now stands.
 */
import type { Bus } from '../../bus/bus.js'
import { CofferError } from '../../core/errors.js'
import { faultOf } from '../../core/fault-message.js'
import type { GuestApi, InstanceSpec, ReplicationSourceRef } from '../../guest/protocol.js'
import { recordEvents, type EventKind } from '../../store/repos/events.js'
import { updateInstance } from '../../store/repos/instances.js'
import { transition } from '../../store/repos/transition.js'
import type { Db, InstanceRow } from '../../store/schema.js'
import { instanceSpec, requireInstance } from './instance-spec.js'

export interface ReplicaStepDeps {
  readonly db: Db
  readonly bus: Bus
  readonly log: (msg: string) => void
}

/** How long a switchover waits for a replica to replay the fenced source's last write. */
const CATCH_UP_MS = 30_000

export function replicaSteps(d: ReplicaStepDeps) {
  const { db, bus } = d
  const member = async (id: string): Promise<{ row: InstanceRow; api: GuestApi; spec: InstanceSpec }> => {
    const row = await requireInstance(db, id)
    return { row, api: bus.node(row.node ?? ''), spec: await instanceSpec(db, row) }
  }
  const sourceRef = async (id: string): Promise<ReplicationSourceRef> => {
    const s = await member(id)
    return s.api.prepareSource(s.spec)
  }
  const replicasOf = (id: string) => db.selectFrom('instances').selectAll().where('replica_of', '=', id).orderBy('created_at').execute()
  /**
   * Tells a source of a synchronous set which replicas may acknowledge its commits (all of its
   * replicas now); an asynchronous source is left as it is, unless `force` (the set was just made
   * asynchronous).
   */
  const applySync = async (sourceId: string, force = false): Promise<void> => {
    const s = await member(sourceId)
    const sync = Number(s.row.sync_replication) === 1
    if (!sync && !force) return
    await s.api.setSynchronous(s.spec, sync ? (await replicasOf(sourceId)).map((r) => r.id) : [])
  }

  return {
    replicasOf,

    /** Seeds the new replica from its source and starts it following; a synchronous source then waits for it too. */
    async seed(id: string, sourceId: string, signal: AbortSignal): Promise<void> {
      const source = await sourceRef(sourceId)
      const r = await member(id)
      await r.api.seedReplica(r.spec, source, { signal })
      await applySync(sourceId)
    },

    applySync,

    /** Stops the source taking writes; resolves with its last position. */
    async fence(id: string): Promise<string> {
      const s = await member(id)
      return (await s.api.fence(s.spec)).position
    },

    /**
     * Fences a source that is presumed lost before a replica takes its place: fenced when its node
     * can, else its engine stopped; a node that cannot be reached at all is logged (the source is
     * also recorded out of the set, so it is never supervised as a source again).
     */
    async fenceOrStop(id: string, log: (msg: string) => void): Promise<string> {
      const s = await member(id)
      try {
        return (await s.api.fence(s.spec)).position
      } catch (err) {
        log(`eject: could not fence ${id} (${(err as Error).message}); stopping its engine instead`)
      }
      await s.api.stop(s.spec).catch((err: Error) => log(`eject: could not stop the engine of ${id} either (${err.message}); it stays out of the set`))
      return ''
    },

    /** Waits until the replica has replayed up to `position`. */
    async waitCaughtUp(id: string, position: string, signal: AbortSignal): Promise<void> {
      const r = await member(id)
      const deadline = Date.now() + CATCH_UP_MS
      while (!(await r.api.caughtUp(r.spec, position))) {
        signal.throwIfAborted()
        if (Date.now() > deadline) throw new CofferError('TIMEOUT', `Replica ${id} did not catch up with its source (position ${position}) within ${CATCH_UP_MS / 1000} s.`, { retryable: false })
        await new Promise((res) => setTimeout(res, 20))
      }
    },

    async promote(id: string, signal: AbortSignal): Promise<void> {
      const r = await member(id)
      await r.api.promote(r.spec, { signal })
    },

    /** Makes `id` follow `sourceId` (repointed replica, or an old source rejoining). */
    async follow(id: string, sourceId: string, signal: AbortSignal): Promise<void> {
      const source = await sourceRef(sourceId)
      const r = await member(id)
      await r.api.follow(r.spec, source, { signal })
    },

    /**
     * The most advanced of `ids`: one that has replayed what every other has (the engine compares
     * positions itself, through caughtUp). A replica that does not answer is left out.
     */
    async mostAdvanced(ids: readonly string[]): Promise<string> {
      const seen: { id: string; position: string }[] = []
      for (const id of ids) {
        const r = await member(id)
        const status = await r.api.replicationStatus(r.spec).catch(() => undefined)
        if (status?.position) seen.push({ id, position: status.position })
      }
      for (const c of seen) {
        const r = await member(c.id)
        let ahead = true
        for (const o of seen) if (o.id !== c.id && !(await r.api.caughtUp(r.spec, o.position).catch(() => false))) ahead = false
        if (ahead) return c.id
      }
      throw new CofferError('ENGINE_UNREACHABLE', `No replica of the set answers with its position (${ids.join(', ')}); none can be made the source.`, { retryable: true })
    },

    /**
     * Writes the set as it now stands: `newSource` follows nobody, every id of `followers` follows
     * it, and the set's choices (automatic failover, synchronous) and writer address move to it
     * from `oldSource`.
     */
    async recordSet(newSource: string, followers: readonly string[], oldSource?: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const old = oldSource ? await trx.selectFrom('instances').select(['auto_failover', 'sync_replication', 'writer_address', 'writer_port']).where('id', '=', oldSource).executeTakeFirst() : undefined
        const writer = old?.writer_address ? { writer_address: old.writer_address, writer_port: old.writer_port } : {}
        // Off the old row first: a writer address is on one row at a time.
        if (oldSource) await updateInstance(trx, oldSource, { auto_failover: 0, sync_replication: 0, ...(old?.writer_address ? { writer_address: null, writer_port: null } : {}) })
        await updateInstance(trx, newSource, { replica_of: null, ...(old ? { auto_failover: old.auto_failover, sync_replication: old.sync_replication } : {}), ...writer })
        for (const f of followers) await updateInstance(trx, f, { replica_of: newSource })
      })
    },

    /** One event, the same on every member named. */
    recordEvents: (ids: readonly string[], kind: EventKind, message: string): Promise<void> => recordEvents(db, ids, kind, () => message),

    /** The operation is over for these members: back to NONE. */
    async release(ids: readonly string[], from: 'PROMOTING' | 'EJECTING' | 'DETACHING'): Promise<void> {
      for (const id of ids) await transition(db, id, from, 'NONE', { clearFault: 'mended' })
    },

    /** An ejected source stays fenced: ERROR with a fault saying so, out of the set. */
    async markEjected(id: string, newSource: string): Promise<void> {
      await updateInstance(db, id, { replica_of: null })
      const fault = { message: `This instance was the source of a replica set and was ejected: ${newSource} took its place. It is fenced (it takes no writes); delete it.`, details: null, operation: 'delete-instance' as const, taskId: null }
      await transition(db, id, ['EJECTING', 'NONE'], 'NONE', { fault, serviceStatus: 'ERROR' })
    },

    /** A set operation failed: every member goes back to NONE with the fault on the one named. */
    async fail(ids: readonly string[], from: 'PROMOTING' | 'EJECTING' | 'DETACHING', on: string, err: CofferError, taskId: string): Promise<void> {
      for (const id of ids) {
        const fault = id === on ? { ...faultOf(err), operation: 'restart-instance' as const, taskId } : undefined
        await transition(db, id, from, 'NONE', fault ? { fault } : {})
      }
      d.log(`replica set operation failed on ${on}: ${err.message}`)
    },
  }
}

export type ReplicaSteps = ReturnType<typeof replicaSteps>
