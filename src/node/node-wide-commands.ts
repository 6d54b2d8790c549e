/**
 * The node's commands on every instance it holds at once: take over their engines when the node
 * starts, stop them all (`coffer shutdown --all`), remove them all (`coffer uninstall`). Each
 * instance's own change is one lifecycle change (lifecycle.ts) or the agent's own verb.
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import { errorMessage } from '../core/errors.js'
import type { InstanceSpec } from '../guest/protocol.js'
import { lifecycle } from './lifecycle.js'
import type { SpecBook } from './spec-book.js'
import type { WriterProxy } from './writer-proxy.js'

export interface NodeWideCommandsOptions {
  readonly compute: ComputeDriver
  readonly book: SpecBook
  readonly writers: WriterProxy
  readonly log: (msg: string) => void
  /** Removes the throwaway envelopes of drills a crash interrupted. */
  removeLeftoverDrills(): Promise<void>
  status(spec: InstanceSpec): Promise<{ readonly state: string }>
  /** Starts the engine of an instance that should be running. */
  startEngine(spec: InstanceSpec): Promise<void>
  /** Stops the instance's engine, if it has an envelope here. */
  stopEngine(spec: InstanceSpec): Promise<void>
  /** Removes one instance, envelope and address included, and forgets it. */
  destroy(spec: InstanceSpec): Promise<void>
}

export class NodeWideCommands {
  readonly #o: NodeWideCommandsOptions

  constructor(o: NodeWideCommandsOptions) {
    this.#o = o
  }

  /**
   * Reads the spec files of this node's instances and takes over the engines that should be
   * running; the state store is never asked.
   */
  async adoptFromSpecs(): Promise<void> {
    await this.#o.removeLeftoverDrills()
    await this.#o.book.load()
    // Addresses added to an interface are gone after a reboot: every instance held gets its own back.
    for (const id of this.#o.book.ids()) {
      const address = this.#o.book.get(id)?.spec.address
      if (address) await this.#o.compute.attachAddress(address).catch((err) => this.#o.log(`instance ${id}: could not add its address ${address}: ${errorMessage(err)}`))
    }
    for (const w of await this.#o.writers.frontends()) await this.#o.compute.attachAddress(w.address).catch((err) => this.#o.log(`writer address ${w.address}: could not add it: ${errorMessage(err)}`))
    // HAProxy outlives the node as engines do; one found stopped (a reboot, a shutdown) starts again.
    await this.#o.writers.ensureRunning().catch((err) => this.#o.log(`writer proxy: could not start HAProxy: ${errorMessage(err)}`))
    await this.adopt(this.#o.book.running().map((d) => d.spec))
  }

  /**
   * Stops the engine of every instance this node holds (spares and ones being built too), leaving
   * their spec files as they are: those meant to run start again when the node next starts
   * (`coffer shutdown --all`). Stop heartbeats first, or the supervisor starts them again.
   * Resolves with the instances whose engine stopped; one that would not stop is logged.
   */
  async stopEngines(onStopped: (instanceId: string) => void = () => undefined): Promise<string[]> {
    await this.#o.book.load()
    this.#o.writers.stopWatch()
    await this.#o.writers.stop().catch((err) => this.#o.log(`writer proxy: could not stop HAProxy: ${errorMessage(err)}`))
    const stopped: string[] = []
    await Promise.all(
      this.#o.book.ids().map(async (id) => {
        const spec = this.#o.book.get(id)?.spec
        if (!spec) return
        try {
          await lifecycle(spec, () => this.#o.stopEngine(spec))
          stopped.push(id)
          onStopped(id)
        } catch (err) {
          this.#o.log(`instance ${id}: could not stop its engine: ${errorMessage(err)}`)
        }
      }),
    )
    return stopped
  }

  /**
   * Stops and removes every instance this node holds, envelope and account included, and forgets
   * them (`coffer uninstall`). Resolves with their ids; throws after trying all if one failed.
   */
  async destroyAll(onDestroyed: (instanceId: string) => void = () => undefined): Promise<string[]> {
    await this.#o.book.load()
    this.#o.writers.stopWatch()
    for (const w of await this.#o.writers.frontends()) await this.#o.compute.detachAddress(w.address).catch(() => undefined)
    await this.#o.writers.destroy()
    const gone: string[] = []
    const failed: string[] = []
    for (const id of this.#o.book.ids()) {
      const spec = this.#o.book.get(id)?.spec
      if (!spec) continue
      try {
        await this.#o.destroy(spec)
        gone.push(id)
        onDestroyed(id)
      } catch (err) {
        failed.push(`${id}: ${errorMessage(err)}`)
      }
    }
    if (failed.length > 0) throw new Error(`could not remove ${failed.length} instance(s): ${failed.join('; ')}`)
    return gone
  }

  /**
   * Takes over the engines of instances that should be running: one still running (Coffer was
   * restarted) is left alone; one found stopped (the host rebooted) is started again.
   */
  async adopt(specs: readonly InstanceSpec[]): Promise<void> {
    await Promise.all(
      specs.map(async (spec) => {
        try {
          if ((await this.#o.status(spec)).state === 'stopped') {
            this.#o.log(`instance ${spec.instanceId}: engine was stopped, starting it`)
            await this.#o.startEngine(spec)
          }
        } catch (err) {
          this.#o.log(`instance ${spec.instanceId}: could not adopt: ${errorMessage(err)}`)
        }
      }),
    )
  }
}
