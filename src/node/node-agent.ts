/**
 * The node agent hosts the guests of the instances placed on this host. It turns the control
 * plane's commands into calls on the right datastore, keeps the engines' envelopes, and reports
 * heartbeats. Engines run detached: the agent can stop and start again without touching them.
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ConfigurationValues, ParameterSpec } from '../core/configuration.js'
import { dirname, join } from 'node:path'
import { CofferError, errorMessage, NotFound, NotImplemented } from '../core/errors.js'
import type { DatastoreManifest } from '../core/manifest.js'
import { resolveOsAccount } from '../guest/datastores/common/os-account.js'
import type { Datastore, InstanceContext, OsAccount } from '../guest/datastores/datastore.js'
import type {
  ArchiveRef,
  BackupCommand,
  BackupRef,
  BackupReport,
  CallOptions,
  DesiredInstance,
  DrillReport,
  GuestApi,
  GuestDatabase,
  GuestUser,
  Heartbeat,
  InstanceSpec,
  LogOp,
  ReplicationReport,
  ReplicationSourceRef,
  RestoreCommand,
  SchemaOp,
  TransferProgress,
  WriterChange,
  WriterFrontend,
} from '../guest/protocol.js'
import { BackupCommands } from './backup-commands.js'
import type { BackupPlace } from './node-backups.js'
import { GuestLogs } from './guest-logs.js'
import type { LogStore } from './log-store.js'
import { SpecBook } from './spec-book.js'
import { runSchemaOp } from './schema-op.js'
import { Supervisor } from './supervisor.js'
import { WriterProxy } from './writer-proxy.js'
import { lifecycle } from './lifecycle.js'
import { ReplicaCommands } from './replica-commands.js'

export interface NodeAgentOptions {
  readonly name: string
  readonly bind: string
  readonly compute: ComputeDriver
  readonly datastores: Readonly<Record<string, Datastore>>
  readonly log: (msg: string) => void
  /** Where published guest logs go; without one the node has no guest logs to offer. */
  readonly logStore?: LogStore
  /** Where backups and archives go; without one the node takes no backup command. */
  readonly backupPlace?: BackupPlace
  /** Sends how far a backup or restore has got (a bus message); absent: no progress is told. */
  readonly publishProgress?: (p: TransferProgress) => void
}

export class NodeAgent implements GuestApi {
  readonly #o: NodeAgentOptions
  #manifests = new Map<string, DatastoreManifest>()
  /** Node-wide engine accounts (Debian's `postgres`...) by name: looked up once, they do not change. */
  readonly #nodeAccounts = new Map<string, Promise<OsAccount>>()
  readonly #book: SpecBook
  #supervisor: Supervisor | undefined
  /** The HAProxy serving the writer addresses of the replica sets whose source is here. */
  readonly #writers: WriterProxy
  readonly #replicas: ReplicaCommands
  readonly #backups: BackupCommands

  constructor(o: NodeAgentOptions) {
    this.#o = o
    this.#book = new SpecBook(o.compute)
    this.#writers = new WriterProxy({ dir: join(dirname(o.compute.cacheDir), 'writer-proxy'), log: o.log })
    this.#replicas = new ReplicaCommands({
      bind: o.bind,
      datastore: (spec) => this.#datastore(spec),
      specOf: (id) => this.#book.get(id)?.spec,
      requireContext: (spec, signal) => this.#requireContext(spec, signal),
      limitedContext: (spec, signal) => this.#limitedContext(spec, signal),
      takeAddress: (spec) => this.#takeAddress(spec),
    })
    this.#backups = new BackupCommands({
      name: o.name,
      compute: o.compute,
      datastores: o.datastores,
      book: this.#book,
      log: o.log,
      backupPlace: o.backupPlace,
      publishProgress: o.publishProgress,
      datastore: (spec) => this.#datastore(spec),
      requireContext: (spec, signal) => this.#requireContext(spec, signal),
      limitedContext: (spec, signal) => this.#limitedContext(spec, signal),
      takeAddress: (spec) => this.#takeAddress(spec),
      stopEngine: (spec) => this.#stopEngine(spec),
    })
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

  addressIsFree(address: string, port: number): Promise<boolean> {
    return this.#o.compute.addressIsFree(address, port)
  }

  /**
   * An engine newly meant to run is left to the supervisor, not started here: one found stopped is
   * reported SHUTDOWN and started at the second look, so its status never says ACTIVE while it is
   * still starting.
   */
  async ensure(desired: DesiredInstance): Promise<void> {
    await lifecycle(desired.spec.instanceId, () => this.#takeAddress(desired.spec, desired.running))
  }

  forget(instanceId: string): Promise<void> {
    return lifecycle(instanceId, () => this.#book.drop(instanceId))
  }

  /** Ids of the instances this node keeps a spec of. */
  held(): readonly string[] {
    return this.#book.ids()
  }

  async createEnvelope(spec: InstanceSpec): Promise<void> {
    await this.#o.compute.createEnvelope(spec.instanceId, spec.volumeGb ? { volumeGb: spec.volumeGb } : {})
    // Not to be supervised until the control plane says so: a task builds it meanwhile.
    await lifecycle(spec, () => this.#takeAddress(spec))
  }

  prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.#takeAddress(spec)
        await this.#datastore(spec).engine.prepare(await this.#limitedContext(spec, signal), initial)
      },
      signal,
    )
  }

  /**
   * Records the spec and makes its address reachable here, giving back the one it had before (a
   * move to another address after its own was found taken).
   */
  async #takeAddress(spec: InstanceSpec, running?: boolean): Promise<boolean> {
    const before = this.#book.get(spec.instanceId)
    const old = before?.spec.address
    if (old && old !== spec.address) await this.#o.compute.detachAddress(old)
    // Not kept without an envelope here (not made yet, or destroyed): nothing to give an address to.
    const kept = await this.#book.put({ spec, running: running ?? before?.running ?? false, ...(before?.archive ? { archive: before.archive } : {}) })
    if (kept && spec.address) await this.#o.compute.attachAddress(spec.address)
    return kept
  }

  async status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }> {
    const ctx = await this.#context(spec)
    if (!ctx) return { healthy: false, state: 'stopped', detail: 'the instance has no envelope on this node' }
    const s = await this.#datastore(spec).engine.status(ctx)
    return { healthy: s.healthy, state: s.state, ...(s.detail ? { detail: s.detail } : {}) }
  }

  stop(spec: InstanceSpec): Promise<void> {
    return lifecycle(spec, async () => {
      // Stopped on purpose: the supervisor must not start it again.
      if (this.#book.get(spec.instanceId)) await this.#book.put({ spec, running: false })
      await this.#stopEngine(spec)
    })
  }

  destroy(spec: InstanceSpec): Promise<void> {
    return lifecycle(spec, async () => {
      if (this.#book.get(spec.instanceId)) await this.#book.put({ spec, running: false })
      await this.#stopEngine(spec)
      await this.#o.compute.destroyEnvelope(spec.instanceId)
      await this.#o.logStore?.deleteInstance(spec.instanceId)
      const held = this.#book.get(spec.instanceId)?.spec.address
      for (const address of new Set([spec.address, held])) if (address) await this.#o.compute.detachAddress(address)
      await this.#book.drop(spec.instanceId)
    })
  }

  async effectiveConfiguration(spec: InstanceSpec): Promise<Record<string, string | number | boolean>> {
    return this.#datastore(spec).engine.effectiveConfiguration(await this.#requireContext(spec))
  }

  async catalog(datastore: string, version: string): Promise<ParameterSpec[]> {
    const ds = this.#o.datastores[datastore]
    const info = this.#manifests.get(datastore)?.versions.find((v) => v.name === version)
    if (!ds || !info) throw new NotFound(`This node has no ${datastore} ${version}.`)
    if (!ds.configuration) throw new NotImplemented(`Datastore ${datastore} has no configuration parameters.`)
    const account = await this.#nodeAccount(ds)
    return ds.configuration.catalog({ cacheDir: await this.#o.compute.prepareCache(account), account, version: info })
  }

  async characterSets(datastore: string, version: string): Promise<CharacterSetCatalog> {
    const ds = this.#o.datastores[datastore]
    const info = this.#manifests.get(datastore)?.versions.find((v) => v.name === version)
    if (!ds || !info) throw new NotFound(`This node has no ${datastore} ${version}.`)
    if (!ds.characterSets) throw new NotImplemented(`Datastore ${datastore} cannot list its character sets.`)
    const account = await this.#nodeAccount(ds)
    return ds.characterSets({ cacheDir: await this.#o.compute.prepareCache(account), account, version: info })
  }

  async configure(spec: InstanceSpec, values: ConfigurationValues, options: CallOptions = {}): Promise<{ restartRequired: readonly string[] }> {
    const ds = this.#datastore(spec)
    if (!ds.configuration) throw new NotImplemented(`Datastore ${spec.datastore} has no configuration parameters.`)
    return ds.configuration.apply(await this.#requireContext(spec, options.signal), values)
  }

  restart(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.#takeAddress(spec)
        const { engine } = this.#datastore(spec)
        await engine.stop(await this.#requireContext(spec, signal))
        // Cancelled between the two: the engine stays stopped for the delete that cancelled it.
        signal?.throwIfAborted()
        // Limits are written with the cgroup empty: a lower memory limit than the old engine used is taken.
        await engine.start(await this.#limitedContext(spec, signal))
      },
      signal,
    )
  }

  async schema(spec: InstanceSpec, op: SchemaOp): Promise<unknown> {
    return runSchemaOp(spec.datastore, this.#datastore(spec), await this.#requireContext(spec), op)
  }

  async log(spec: InstanceSpec, op: LogOp): Promise<unknown> {
    const ds = this.#datastore(spec)
    if (!ds.logs || !this.#o.logStore) throw new NotImplemented(`Datastore ${spec.datastore} has no guest logs on node ${this.#o.name}.`)
    return new GuestLogs(ds.logs, this.#o.logStore, spec.datastore).run(await this.#requireContext(spec), op)
  }

  backup(spec: InstanceSpec, command: BackupCommand, options: CallOptions = {}): Promise<BackupReport> {
    return this.#backups.backup(spec, command, options)
  }

  restore(spec: InstanceSpec, command: RestoreCommand, options: CallOptions = {}): Promise<void> {
    return this.#backups.restore(spec, command, options)
  }

  drill(datastore: string, version: string, command: RestoreCommand, options: CallOptions = {}): Promise<DrillReport> {
    return this.#backups.drill(datastore, version, command, options)
  }

  removeBackup(datastore: string, backup: BackupRef, archive?: ArchiveRef): Promise<void> {
    return this.#backups.removeBackup(datastore, backup, archive)
  }

  removeArchive(datastore: string, archive: ArchiveRef): Promise<void> {
    return this.#backups.removeArchive(datastore, archive)
  }

  prepareSource(spec: InstanceSpec): Promise<ReplicationSourceRef> {
    return this.#replicas.prepareSource(spec)
  }

  seedReplica(spec: InstanceSpec, source: ReplicationSourceRef, options: CallOptions = {}): Promise<void> {
    return this.#replicas.seedReplica(spec, source, options)
  }

  follow(spec: InstanceSpec, source: ReplicationSourceRef, options: CallOptions = {}): Promise<void> {
    return this.#replicas.follow(spec, source, options)
  }

  promote(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    return this.#replicas.promote(spec, options)
  }

  fence(spec: InstanceSpec): Promise<{ readonly position: string }> {
    return this.#replicas.fence(spec)
  }

  caughtUp(spec: InstanceSpec, position: string): Promise<boolean> {
    return this.#replicas.caughtUp(spec, position)
  }

  replicationStatus(spec: InstanceSpec): Promise<ReplicationReport> {
    return this.#replicas.replicationStatus(spec)
  }

  setSynchronous(spec: InstanceSpec, replicas: readonly string[]): Promise<void> {
    return this.#replicas.setSynchronous(spec, replicas)
  }

  copyReplicaUsers(spec: InstanceSpec, source: ReplicationSourceRef): Promise<void> {
    return this.#replicas.copyReplicaUsers(spec, source)
  }

  async setWriter(frontend: WriterFrontend): Promise<WriterChange> {
    await this.#o.compute.attachAddress(frontend.address)
    return this.#writers.set(frontend)
  }

  async removeWriter(address: string, port: number): Promise<void> {
    await this.#writers.remove(address, port)
    // The node's own address (a writer placed without a pool) is never given back: detach leaves it.
    if (!this.#book.ids().some((id) => this.#book.get(id)?.spec.address === address)) await this.#o.compute.detachAddress(address)
  }

  /** The writer addresses served here (for a node starting, and for tests). */
  writers(): Promise<readonly WriterFrontend[]> {
    return this.#writers.frontends()
  }

  archive(spec: InstanceSpec, archive: ArchiveRef): Promise<void> {
    return this.#backups.archive(spec, archive)
  }

  /**
   * Every `intervalMs`, ships the archive of each running instance that has one, closing the
   * engine's current file when it is older than `maxAgeSeconds`.
   */
  startArchiving(intervalMs: number, maxAgeSeconds: number): void {
    this.#backups.startArchiving(intervalMs, maxAgeSeconds)
  }

  /**
   * Reads the spec files of this node's instances and takes over the engines that should be
   * running; the state store is never asked.
   */
  async adoptFromSpecs(): Promise<void> {
    await this.#backups.removeLeftoverDrills()
    await this.#book.load()
    // Addresses added to an interface are gone after a reboot: every instance held gets its own back.
    for (const id of this.#book.ids()) {
      const address = this.#book.get(id)?.spec.address
      if (address) await this.#o.compute.attachAddress(address).catch((err) => this.#o.log(`instance ${id}: could not add its address ${address}: ${errorMessage(err)}`))
    }
    for (const w of await this.#writers.frontends()) await this.#o.compute.attachAddress(w.address).catch((err) => this.#o.log(`writer address ${w.address}: could not add it: ${errorMessage(err)}`))
    // HAProxy outlives the node as engines do; one found stopped (a reboot, a shutdown) starts again.
    await this.#writers.ensureRunning().catch((err) => this.#o.log(`writer proxy: could not start HAProxy: ${errorMessage(err)}`))
    await this.adopt(this.#book.running().map((d) => d.spec))
  }

  /**
   * Stops the engine of every instance this node holds (spares and ones being built too), leaving
   * their spec files as they are: those meant to run start again when the node next starts
   * (`coffer shutdown --all`). Stop heartbeats first, or the supervisor starts them again.
   * Resolves with the instances whose engine stopped; one that would not stop is logged.
   */
  async stopEngines(onStopped: (instanceId: string) => void = () => undefined): Promise<string[]> {
    await this.#book.load()
    this.#writers.stopWatch()
    await this.#writers.stop().catch((err) => this.#o.log(`writer proxy: could not stop HAProxy: ${errorMessage(err)}`))
    const stopped: string[] = []
    await Promise.all(
      this.#book.ids().map(async (id) => {
        const spec = this.#book.get(id)?.spec
        if (!spec) return
        try {
          await lifecycle(spec, () => this.#stopEngine(spec))
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
    await this.#book.load()
    this.#writers.stopWatch()
    for (const w of await this.#writers.frontends()) await this.#o.compute.detachAddress(w.address).catch(() => undefined)
    await this.#writers.destroy()
    const gone: string[] = []
    const failed: string[] = []
    for (const id of this.#book.ids()) {
      const spec = this.#book.get(id)?.spec
      if (!spec) continue
      try {
        await this.destroy(spec)
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
          if ((await this.status(spec)).state === 'stopped') {
            this.#o.log(`instance ${spec.instanceId}: engine was stopped, starting it`)
            await this.#startEngine(spec)
          }
        } catch (err) {
          this.#o.log(`instance ${spec.instanceId}: could not adopt: ${errorMessage(err)}`)
        }
      }),
    )
  }

  /** Looks at each engine that should be running every `intervalMs` and publishes what it saw (supervisor.ts). */
  startHeartbeats(intervalMs: number, publish: (hb: Heartbeat) => void, fullLookMs?: number): void {
    this.#supervisor?.stop()
    this.#supervisor = new Supervisor({
      running: () => this.#book.running().map((d) => d.spec),
      stillMeantToRun: (id) => this.#book.get(id)?.running ?? false,
      fullStatus: async (spec) => {
        const ctx = await this.#context(spec)
        return ctx ? this.#datastore(spec).engine.status(ctx) : { healthy: false, state: 'stopped' }
      },
      startEngine: (spec) => this.#startEngine(spec),
      archivedThrough: (id) => this.#backups.archivedThrough(id),
      replication: async (spec) => {
        const part = spec.replicaSet ? this.#o.datastores[spec.datastore]?.replication : undefined
        const ctx = part ? await this.#context(spec) : undefined
        return part && ctx ? part.status(ctx) : undefined
      },
      compute: this.#o.compute,
      log: this.#o.log,
      ...(fullLookMs === undefined ? {} : { fullLookMs }),
    })
    this.#supervisor.start(intervalMs, publish)
    this.#writers.startWatch(intervalMs)
  }

  stopHeartbeats(): void {
    this.#supervisor?.stop()
    this.#writers.stopWatch()
    this.#backups.stopArchiving()
  }

  /** Starts the engine of an instance that should be running; fails if its envelope is gone (deleted meanwhile). */
  #startEngine(spec: InstanceSpec): Promise<void> {
    return lifecycle(spec, async () => this.#datastore(spec).engine.start(await this.#limitedContext(spec)))
  }

  /**
   * The context of a command that may start the engine: the flavor's limits are written first and
   * the engine joins them as it starts, so a new flavor takes effect at the next start.
   */
  async #limitedContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    const ctx = await this.#requireContext(spec, signal)
    const cgroupProcs = await this.#o.compute.applyLimits(spec.instanceId, spec.flavor)
    return cgroupProcs.length > 0 ? { ...ctx, account: { ...ctx.account, cgroupProcs } } : ctx
  }

  async growVolume(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    if (!spec.volumeGb) throw new CofferError('INTERNAL', `instance ${spec.instanceId}: no volume size to grow to`, { retryable: false })
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.#requireContext(spec, signal)
        const { engine } = this.#datastore(spec)
        await this.#o.compute.growVolume(spec.instanceId, spec.volumeGb!, async (work) => {
          await engine.stop(await this.#requireContext(spec, signal))
          await work()
          await engine.start(await this.#limitedContext(spec))
        })
        // A grow resumed after a crash may find the file system grown already and stop nothing: the
        // engine the crash took down is started here (a no-op when it runs), before the instance
        // shows ACTIVE again.
        await engine.start(await this.#limitedContext(spec))
      },
      signal,
    )
  }

  async #stopEngine(spec: InstanceSpec): Promise<void> {
    const ctx = await this.#context(spec)
    if (ctx) await this.#datastore(spec).engine.stop(ctx)
  }

  #datastore(spec: InstanceSpec): Datastore {
    const ds = this.#o.datastores[spec.datastore]
    if (!ds) throw new CofferError('DATASTORE_NOT_FOUND', `This node has no datastore ${spec.datastore}.`, { retryable: false })
    return ds
  }

  /** The guest's view of an instance on this node; undefined when it has no envelope here. */
  async #context(spec: InstanceSpec): Promise<InstanceContext | undefined> {
    const ds = this.#datastore(spec)
    const manifest = this.#manifests.get(spec.datastore) ?? (await ds.discover())
    const version = manifest.versions.find((v) => v.name === spec.version)
    if (!version) throw new CofferError('DATASTORE_VERSION_NOT_FOUND', `This node has no ${spec.datastore} ${spec.version}.`, { retryable: false })
    const envelope = await this.#o.compute.envelope(spec.instanceId)
    if (!envelope) return undefined
    const { account, ...paths } = envelope
    const nodeAccount = await this.#nodeAccount(ds)
    return {
      instanceId: spec.instanceId,
      version,
      ...paths,
      // The datastore's own account builds templates there; it is let through on first use.
      cacheDir: await this.#o.compute.prepareCache(nodeAccount),
      bindAddress: spec.address ?? this.#o.bind,
      port: spec.port,
      flavor: spec.flavor,
      allowedCidrs: spec.allowedCidrs,
      account,
      nodeAccount,
    }
  }

  #nodeAccount(ds: Datastore): Promise<OsAccount> {
    let account = this.#nodeAccounts.get(ds.osAccountName)
    if (!account) {
      account = resolveOsAccount(ds.osAccountName)
      account.catch(() => this.#nodeAccounts.delete(ds.osAccountName))
      this.#nodeAccounts.set(ds.osAccountName, account)
    }
    return account
  }

  async #requireContext(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    const ctx = await this.#context(spec)
    // Retrying cannot make one: the envelope is created by its own step, before any guest command.
    if (!ctx) throw new CofferError('INSTANCE_NOT_READY', `Instance ${spec.instanceId} has no envelope on node ${this.#o.name}.`, { retryable: false })
    return signal ? { ...ctx, signal } : ctx
  }
}
