/**
 * The node agent hosts the guests of the instances placed on this host. It turns the control
 * plane's commands into calls on the right datastore, keeps the engines' envelopes, and reports
 * heartbeats. Engines run detached: the agent can stop and start again without touching them.
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import { errorMessage } from '../core/errors.js'
import type { DatastoreManifest } from '../core/manifest.js'
import { resolveOsAccount } from '../guest/datastores/common/os-account.js'
import type { Datastore, InstanceContext } from '../guest/datastores/datastore.js'
import type { GuestApi, GuestDatabase, GuestUser, Heartbeat, InstanceSpec } from '../guest/protocol.js'
import { GUEST_PROTOCOL_VERSION } from '../guest/protocol.js'

export interface NodeAgentOptions {
  readonly name: string
  readonly bind: string
  readonly compute: ComputeDriver
  readonly datastores: Readonly<Record<string, Datastore>>
  readonly log: (msg: string) => void
}

export class NodeAgent implements GuestApi {
  readonly #o: NodeAgentOptions
  #manifests = new Map<string, DatastoreManifest>()
  #heartbeat: NodeJS.Timeout | undefined

  constructor(o: NodeAgentOptions) {
    this.#o = o
  }

  get name(): string {
    return this.#o.name
  }

  /** Finds installed engines; call before taking commands. */
  async discover(): Promise<DatastoreManifest[]> {
    const found = await Promise.all(Object.values(this.#o.datastores).map((ds) => ds.discover()))
    this.#manifests = new Map(found.map((m) => [m.name, m]))
    return found
  }

  portIsFree(port: number): Promise<boolean> {
    return this.#o.compute.portIsFree(port)
  }

  async createEnvelope(spec: InstanceSpec): Promise<void> {
    const account = await resolveOsAccount(this.#datastore(spec).osAccountName)
    await this.#o.compute.createEnvelope(spec.instanceId, account)
  }

  async prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }): Promise<void> {
    await this.#datastore(spec).engine.prepare(await this.#context(spec), initial)
  }

  async status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }> {
    const s = await this.#datastore(spec).engine.status(await this.#context(spec))
    return { healthy: s.healthy, state: s.state, ...(s.detail ? { detail: s.detail } : {}) }
  }

  async stop(spec: InstanceSpec): Promise<void> {
    await this.#datastore(spec).engine.stop(await this.#context(spec))
  }

  async destroy(spec: InstanceSpec): Promise<void> {
    await this.stop(spec)
    await this.#o.compute.destroyEnvelope(spec.instanceId)
  }

  async effectiveConfiguration(spec: InstanceSpec): Promise<Record<string, string | number | boolean>> {
    return this.#datastore(spec).engine.effectiveConfiguration(await this.#context(spec))
  }

  /**
   * Takes over the engines of instances that should be running: one still running (Coffer was
   * restarted) is left alone; one found stopped (the host rebooted) is started again.
   */
  async adopt(specs: readonly InstanceSpec[]): Promise<void> {
    await Promise.all(
      specs.map(async (spec) => {
        try {
          const ds = this.#datastore(spec)
          const ctx = await this.#context(spec)
          const s = await ds.engine.status(ctx)
          if (s.state === 'stopped') {
            this.#o.log(`instance ${spec.instanceId}: engine was stopped, starting it`)
            await ds.engine.start(ctx)
          }
        } catch (err) {
          this.#o.log(`instance ${spec.instanceId}: could not adopt: ${errorMessage(err)}`)
        }
      }),
    )
  }

  /** Every `intervalMs`, looks at each engine and publishes what it saw. */
  startHeartbeats(intervalMs: number, specs: () => Promise<readonly InstanceSpec[]>, publish: (hb: Heartbeat) => void): void {
    const beat = async (): Promise<void> => {
      for (const spec of await specs().catch(() => [])) {
        const observedAt = Date.now()
        const s = await this.status(spec).catch(() => ({ healthy: false, state: 'failed' }))
        const volumeUsedBytes = await this.#o.compute.volumeUsedBytes(spec.instanceId)
        const serviceStatus = s.healthy ? 'HEALTHY' : s.state === 'stopped' ? 'SHUTDOWN' : 'FAILED'
        publish({ protocol: GUEST_PROTOCOL_VERSION, instanceId: spec.instanceId, observedAt, serviceStatus, volumeUsedBytes })
      }
    }
    const loop = (): void => {
      this.#heartbeat = setTimeout(() => void beat().finally(loop), intervalMs)
      this.#heartbeat.unref()
    }
    loop()
  }

  stopHeartbeats(): void {
    clearTimeout(this.#heartbeat)
  }

  #datastore(spec: InstanceSpec): Datastore {
    const ds = this.#o.datastores[spec.datastore]
    if (!ds) throw new Error(`this node has no datastore ${spec.datastore}`)
    return ds
  }

  async #context(spec: InstanceSpec): Promise<InstanceContext> {
    const ds = this.#datastore(spec)
    const manifest = this.#manifests.get(spec.datastore) ?? (await ds.discover())
    const version = manifest.versions.find((v) => v.name === spec.version)
    if (!version) throw new Error(`this node has no ${spec.datastore} ${spec.version}`)
    const paths = this.#o.compute.paths(spec.instanceId)
    return {
      instanceId: spec.instanceId,
      version,
      ...paths,
      cacheDir: this.#o.compute.cacheDir,
      bindAddress: this.#o.bind,
      port: spec.port,
      flavor: spec.flavor,
      account: await resolveOsAccount(ds.osAccountName),
    }
  }
}
