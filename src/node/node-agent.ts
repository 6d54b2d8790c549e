/**
 * The node agent hosts the guests of the instances placed on this host. It turns the control
 * plane's commands into calls on the right datastore, keeps the engines' envelopes, and reports
 * heartbeats. Engines run detached: the agent can stop and start again without touching them.
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ConfigurationValues, ParameterSpec } from '../core/configuration.js'
import { dirname, join } from 'node:path'
import { NotImplemented } from '../core/errors.js'
import type { DatastoreManifest } from '../core/manifest.js'
import type { Datastore } from '../guest/datastores/datastore.js'
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
import { EngineCommands } from './engine-commands.js'
import type { BackupPlace } from './node-backups.js'
import { GuestLogs } from './guest-logs.js'
import { InstanceContexts } from './instance-contexts.js'
import type { LogStore } from './log-store.js'
import { SpecBook } from './spec-book.js'
import { runSchemaOp } from './schema-op.js'
import { applyConfiguration, characterSetCatalog, effectiveConfiguration, parameterCatalog } from './configuration-commands.js'
import { growVolume } from './grow-volume.js'
import { Supervisor } from './supervisor.js'
import { WriterProxy } from './writer-proxy.js'
import { NodeWideCommands } from './node-wide-commands.js'
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
  readonly #contexts: InstanceContexts
  readonly #book: SpecBook
  readonly #engines: EngineCommands
  #supervisor: Supervisor | undefined
  /** The HAProxy serving the writer addresses of the replica sets whose source is here. */
  readonly #writers: WriterProxy
  readonly #replicas: ReplicaCommands
  readonly #backups: BackupCommands
  readonly #all: NodeWideCommands

  constructor(o: NodeAgentOptions) {
    this.#o = o
    this.#contexts = new InstanceContexts({ name: o.name, bind: o.bind, compute: o.compute, datastores: o.datastores })
    this.#book = new SpecBook(o.compute)
    this.#engines = new EngineCommands({ compute: o.compute, book: this.#book, contexts: this.#contexts, logStore: o.logStore })
    this.#writers = new WriterProxy({ dir: join(dirname(o.compute.cacheDir), 'writer-proxy'), log: o.log })
    this.#replicas = new ReplicaCommands({ bind: o.bind, instances: this.#engines, specOf: (id) => this.#book.get(id)?.spec })
    this.#backups = new BackupCommands({
      name: o.name,
      compute: o.compute,
      datastores: o.datastores,
      book: this.#book,
      log: o.log,
      backupPlace: o.backupPlace,
      publishProgress: o.publishProgress,
      instances: this.#engines,
    })
    this.#all = new NodeWideCommands({
      compute: o.compute,
      book: this.#book,
      writers: this.#writers,
      log: o.log,
      removeLeftoverDrills: () => this.#backups.removeLeftoverDrills(),
      status: (spec) => this.status(spec),
      startEngine: (spec) => this.#engines.startEngine(spec),
      stopEngine: (spec) => this.#engines.stopEngine(spec),
      destroy: (spec) => this.#engines.destroy(spec),
    })
  }

  get name(): string {
    return this.#o.name
  }

  /** Finds installed engines; call before taking commands. */
  discover(): Promise<DatastoreManifest[]> {
    return this.#contexts.discover()
  }

  addressIsFree(address: string, port: number): Promise<boolean> {
    return this.#o.compute.addressIsFree(address, port)
  }

  ensure(desired: DesiredInstance): Promise<void> {
    return this.#engines.ensure(desired)
  }

  forget(instanceId: string): Promise<void> {
    return this.#engines.forget(instanceId)
  }

  /** Ids of the instances this node keeps a spec of. */
  held(): readonly string[] {
    return this.#book.ids()
  }

  createEnvelope(spec: InstanceSpec): Promise<void> {
    return this.#engines.createEnvelope(spec)
  }

  prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }, options: CallOptions = {}): Promise<void> {
    return this.#engines.prepare(spec, initial, options)
  }

  status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }> {
    return this.#engines.status(spec)
  }

  stop(spec: InstanceSpec): Promise<void> {
    return this.#engines.stop(spec)
  }

  destroy(spec: InstanceSpec): Promise<void> {
    return this.#engines.destroy(spec)
  }

  effectiveConfiguration(spec: InstanceSpec): Promise<Record<string, string | number | boolean>> {
    return effectiveConfiguration(this.#contexts, spec)
  }

  catalog(datastore: string, version: string): Promise<ParameterSpec[]> {
    return parameterCatalog(this.#contexts, datastore, version)
  }

  characterSets(datastore: string, version: string): Promise<CharacterSetCatalog> {
    return characterSetCatalog(this.#contexts, datastore, version)
  }

  configure(spec: InstanceSpec, values: ConfigurationValues, options: CallOptions = {}): Promise<{ restartRequired: readonly string[] }> {
    return applyConfiguration(this.#contexts, spec, values, options.signal)
  }

  restart(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    return this.#engines.restart(spec, options)
  }

  async schema(spec: InstanceSpec, op: SchemaOp): Promise<unknown> {
    return runSchemaOp(spec.datastore, this.#contexts.datastore(spec), await this.#contexts.require(spec), op)
  }

  async log(spec: InstanceSpec, op: LogOp): Promise<unknown> {
    const ds = this.#contexts.datastore(spec)
    if (!ds.logs || !this.#o.logStore) throw new NotImplemented(`Datastore ${spec.datastore} has no guest logs on node ${this.#o.name}.`)
    return new GuestLogs(ds.logs, this.#o.logStore, spec.datastore).run(await this.#contexts.require(spec), op)
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

  /**
   * Reads the spec files of this node's instances and takes over the engines that should be
   * running; the state store is never asked.
   */
  adoptFromSpecs(): Promise<void> {
    return this.#all.adoptFromSpecs()
  }

  /**
   * Stops the engine of every instance this node holds, keeping their specs (`coffer shutdown
   * --all`). Stop heartbeats first, or the supervisor starts them again.
   */
  stopEngines(onStopped?: (instanceId: string) => void): Promise<string[]> {
    return this.#all.stopEngines(onStopped)
  }

  /** Stops, removes and forgets every instance this node holds (`coffer uninstall`). */
  destroyAll(onDestroyed?: (instanceId: string) => void): Promise<string[]> {
    return this.#all.destroyAll(onDestroyed)
  }

  /** Takes over the engines of instances that should be running, starting the ones found stopped. */
  adopt(specs: readonly InstanceSpec[]): Promise<void> {
    return this.#all.adopt(specs)
  }

  /** Looks at each engine that should be running every `intervalMs` and publishes what it saw (supervisor.ts). */
  startHeartbeats(intervalMs: number, publish: (hb: Heartbeat) => void, fullLookMs?: number): void {
    this.#supervisor?.stop()
    this.#supervisor = new Supervisor({
      running: () => this.#book.running().map((d) => d.spec),
      stillMeantToRun: (id) => this.#book.get(id)?.running ?? false,
      fullStatus: async (spec) => {
        const ctx = await this.#contexts.find(spec)
        return ctx ? this.#contexts.datastore(spec).engine.status(ctx) : { healthy: false, state: 'stopped' }
      },
      startEngine: (spec) => this.#engines.startEngine(spec),
      archivedThrough: (id) => this.#backups.archivedThrough(id),
      replication: async (spec) => {
        const part = spec.replicaSet ? this.#o.datastores[spec.datastore]?.replication : undefined
        const ctx = part ? await this.#contexts.find(spec) : undefined
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

  growVolume(spec: InstanceSpec, options: CallOptions = {}): Promise<void> {
    return growVolume(this.#contexts, this.#o.compute, spec, options.signal)
  }
}
