/**
 * The node's replica set commands: a source made ready to be followed, a replica seeded, repointed,
 * promoted, a source fenced, and what the engines say of their replication. Each engine step is
 * its datastore's `replication` part; what starts or stops an engine is one lifecycle change of
 * its instance (lifecycle.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError, NotImplemented } from '../core/errors.js'
import type { InstanceContext } from '../guest/datastores/datastore.js'
import type { ReplicationAdmin } from '../guest/datastores/replication.js'
import type { CallOptions, InstanceSpec, ReplicationReport, ReplicationSourceRef } from '../guest/protocol.js'
import type { InstanceAccess } from './engine-commands.js'
import { lifecycle } from './lifecycle.js'

export interface ReplicaCommandsOptions {
  /** Where engines listen when an instance has no address of its own. */
  readonly bind: string
  readonly instances: InstanceAccess
  /** The spec of an instance kept on this node. */
  specOf(instanceId: string): InstanceSpec | undefined
}

/** How long a started replica may go without a connection to its source before its seed fails. */
const SEED_CONNECT_MS = 60_000

/**
 * Waits until a replica whose engine copies its source's data after starting has it whole: as
 * long as the copy goes on, or for SEED_CONNECT_MS while it is not connected.
 */
async function untilSeeded(part: ReplicationAdmin, ctx: InstanceContext, signal: AbortSignal | undefined): Promise<void> {
  if (!part.seeded) return
  let progressAt = Date.now()
  for (let p = await part.seeded(ctx); p !== 'whole'; p = await part.seeded(ctx)) {
    signal?.throwIfAborted()
    if (p === 'copying') progressAt = Date.now()
    else if (Date.now() - progressAt > SEED_CONNECT_MS) {
      throw new CofferError('ENGINE_UNREACHABLE', `Replica ${ctx.instanceId} could not reach its source to copy its data for ${SEED_CONNECT_MS / 1000} s; check that the source is ACTIVE, and its log (coffer log-show).`, { retryable: false })
    }
    await sleep(100)
  }
}

export class ReplicaCommands {
  readonly #o: ReplicaCommandsOptions

  constructor(o: ReplicaCommandsOptions) {
    this.#o = o
  }

  async prepareSource(spec: InstanceSpec): Promise<ReplicationSourceRef> {
    const account = await this.#part(spec).prepareSource(await this.#o.instances.requireContext(spec))
    return { instanceId: spec.instanceId, host: spec.address ?? this.#o.bind, port: spec.port, ...account }
  }

  seedReplica(spec: InstanceSpec, source: ReplicationSourceRef, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.#o.instances.takeAddress(spec)
        const part = this.#part(spec)
        const snapshot = part.snapshot ? await part.snapshot(await this.#sourceContext(spec, source)) : undefined
        await part.seed(await this.#o.instances.requireContext(spec, signal), source, snapshot)
        signal?.throwIfAborted()
        const ctx = await this.#o.instances.limitedContext(spec, signal)
        await this.#o.instances.datastore(spec).engine.start(ctx)
        await untilSeeded(part, ctx, signal)
      },
      signal,
    )
  }

  follow(spec: InstanceSpec, source: ReplicationSourceRef, options: CallOptions = {}): Promise<void> {
    return lifecycle(
      spec,
      async () => {
        const part = this.#part(spec)
        const ctx = await this.#o.instances.limitedContext(spec, options.signal)
        await part.follow(ctx, source)
        await untilSeeded(part, ctx, options.signal)
      },
      options.signal,
    )
  }

  promote(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    return lifecycle(spec, async () => this.#part(spec).promote(await this.#o.instances.limitedContext(spec, options.signal)), options.signal)
  }

  fence(spec: InstanceSpec): Promise<{ readonly position: string }> {
    return lifecycle(spec, async () => this.#part(spec).fence(await this.#o.instances.limitedContext(spec)))
  }

  async caughtUp(spec: InstanceSpec, position: string): Promise<boolean> {
    return this.#part(spec).caughtUp(await this.#o.instances.requireContext(spec), position)
  }

  async replicationStatus(spec: InstanceSpec): Promise<ReplicationReport> {
    return this.#part(spec).status(await this.#o.instances.requireContext(spec))
  }

  /**
   * The source's context, for an engine whose seed streams a copy of the source: in the embedded
   * mode the source is on this node. Across nodes the copy would have to travel between them
   * (encrypted): not built yet.
   */
  async #sourceContext(replica: InstanceSpec, source: ReplicationSourceRef): Promise<InstanceContext> {
    const spec = this.#o.specOf(source.instanceId)
    if (!spec) throw new NotImplemented(`The source ${source.instanceId} of replica ${replica.instanceId} is on another node; ${replica.datastore} replicas are seeded only on their source's node so far.`)
    return this.#o.instances.requireContext(spec)
  }

  async setSynchronous(spec: InstanceSpec, replicas: readonly string[]): Promise<void> {
    const part = this.#part(spec)
    if (!part.setSynchronous) throw new NotImplemented(`Datastore ${spec.datastore} has no synchronous replication.`)
    await part.setSynchronous(await this.#o.instances.requireContext(spec), replicas)
  }

  async copyReplicaUsers(spec: InstanceSpec, source: ReplicationSourceRef): Promise<void> {
    const part = this.#part(spec)
    if (!part.copyUsers) throw new NotImplemented(`Datastore ${spec.datastore} replicates its users itself.`)
    await part.copyUsers(await this.#o.instances.requireContext(spec), source)
  }

  #part(spec: InstanceSpec): ReplicationAdmin {
    const part = this.#o.instances.datastore(spec).replication
    if (!part) throw new NotImplemented(`Datastore ${spec.datastore} has no replication.`)
    return part
  }
}
