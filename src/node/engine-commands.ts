/**
 * The node's commands on one instance's engine and envelope: the envelope made and destroyed, the
 * engine prepared, started, stopped and restarted, its status, and the spec and address the node
 * keeps for it. Each change is one lifecycle change of its instance (lifecycle.ts). The other
 * command groups (backups, replicas) reach an instance through these too (InstanceAccess).
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import type { Datastore, InstanceContext } from '../guest/datastores/datastore.js'
import type { CallOptions, DesiredInstance, GuestDatabase, GuestUser, InstanceSpec } from '../guest/protocol.js'
import type { InstanceContexts } from './instance-contexts.js'
import { lifecycle } from './lifecycle.js'
import type { LogStore } from './log-store.js'
import type { SpecBook } from './spec-book.js'

/** What a command group needs of an instance on this node. */
export interface InstanceAccess {
  datastore(spec: InstanceSpec): Datastore
  requireContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext>
  /** The context of a command that may start the engine (the flavor's limits written first). */
  limitedContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext>
  /** Records the spec and makes its address reachable here. */
  takeAddress(spec: InstanceSpec): Promise<boolean>
  /** Stops the instance's engine, if it has an envelope here. */
  stopEngine(spec: InstanceSpec): Promise<void>
}

export interface EngineCommandsOptions {
  readonly compute: ComputeDriver
  readonly book: SpecBook
  readonly contexts: InstanceContexts
  /** Published guest logs, removed with their instance. */
  readonly logStore?: LogStore | undefined
}

export class EngineCommands implements InstanceAccess {
  readonly #o: EngineCommandsOptions

  constructor(o: EngineCommandsOptions) {
    this.#o = o
  }

  datastore(spec: InstanceSpec): Datastore {
    return this.#o.contexts.datastore(spec)
  }

  requireContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    return this.#o.contexts.require(spec, signal)
  }

  limitedContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    return this.#o.contexts.limited(spec, signal)
  }

  /**
   * An engine newly meant to run is left to the supervisor, not started here: one found stopped is
   * reported SHUTDOWN and started at the second look, so its status never says ACTIVE while it is
   * still starting.
   */
  async ensure(desired: DesiredInstance): Promise<void> {
    await lifecycle(desired.spec.instanceId, () => this.takeAddress(desired.spec, desired.running))
  }

  forget(instanceId: string): Promise<void> {
    return lifecycle(instanceId, () => this.#o.book.drop(instanceId))
  }

  async createEnvelope(spec: InstanceSpec): Promise<void> {
    await this.#o.compute.createEnvelope(spec.instanceId, spec.volumeGb ? { volumeGb: spec.volumeGb } : {})
    // Not to be supervised until the control plane says so: a task builds it meanwhile.
    await lifecycle(spec, () => this.takeAddress(spec))
  }

  prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.takeAddress(spec)
        await this.datastore(spec).engine.prepare(await this.limitedContext(spec, signal), initial)
      },
      signal,
    )
  }

  /**
   * Records the spec and makes its address reachable here, giving back the one it had before (a
   * move to another address after its own was found taken).
   */
  async takeAddress(spec: InstanceSpec, running?: boolean): Promise<boolean> {
    const { book, compute } = this.#o
    const before = book.get(spec.instanceId)
    const old = before?.spec.address
    if (old && old !== spec.address) await compute.detachAddress(old)
    // Not kept without an envelope here (not made yet, or destroyed): nothing to give an address to.
    const kept = await book.put({ spec, running: running ?? before?.running ?? false, ...(before?.archive ? { archive: before.archive } : {}) })
    if (kept && spec.address) await compute.attachAddress(spec.address)
    return kept
  }

  async status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }> {
    const ctx = await this.#o.contexts.find(spec)
    if (!ctx) return { healthy: false, state: 'stopped', detail: 'the instance has no envelope on this node' }
    const s = await this.datastore(spec).engine.status(ctx)
    return { healthy: s.healthy, state: s.state, ...(s.detail ? { detail: s.detail } : {}) }
  }

  stop(spec: InstanceSpec): Promise<void> {
    return lifecycle(spec, async () => {
      // Stopped on purpose: the supervisor must not start it again.
      if (this.#o.book.get(spec.instanceId)) await this.#o.book.put({ spec, running: false })
      await this.stopEngine(spec)
    })
  }

  destroy(spec: InstanceSpec): Promise<void> {
    const { book, compute } = this.#o
    return lifecycle(spec, async () => {
      if (book.get(spec.instanceId)) await book.put({ spec, running: false })
      await this.stopEngine(spec)
      await compute.destroyEnvelope(spec.instanceId)
      await this.#o.logStore?.deleteInstance(spec.instanceId)
      const held = book.get(spec.instanceId)?.spec.address
      for (const address of new Set([spec.address, held])) if (address) await compute.detachAddress(address)
      await book.drop(spec.instanceId)
    })
  }

  restart(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.takeAddress(spec)
        const { engine } = this.datastore(spec)
        await engine.stop(await this.requireContext(spec, signal))
        // Cancelled between the two: the engine stays stopped for the delete that cancelled it.
        signal?.throwIfAborted()
        // Limits are written with the cgroup empty: a lower memory limit than the old engine used is taken.
        await engine.start(await this.limitedContext(spec, signal))
      },
      signal,
    )
  }

  /** Starts the engine of an instance that should be running; fails if its envelope is gone (deleted meanwhile). */
  startEngine(spec: InstanceSpec): Promise<void> {
    return lifecycle(spec, async () => this.datastore(spec).engine.start(await this.limitedContext(spec)))
  }

  async stopEngine(spec: InstanceSpec): Promise<void> {
    const ctx = await this.#o.contexts.find(spec)
    if (ctx) await this.datastore(spec).engine.stop(ctx)
  }
}
