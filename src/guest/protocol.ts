/**
 * Versioned messages between the control plane and the guests on a node (like Trove's guest RPC
 * and CloudNativePG's instance status). Types only; both planes import this file.
 */
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ConfigurationValues, ParameterSpec } from '../core/configuration.js'
import type { DatastoreManifest } from '../core/manifest.js'

export const GUEST_PROTOCOL_VERSION = 1

export interface GuestDatabase {
  readonly name: string
  readonly character_set?: string
  readonly collate?: string
}

export interface GuestUser {
  readonly name: string
  readonly password: string
  readonly host?: string
  readonly databases: readonly { readonly name: string }[]
}

/** A user as the engine knows it. `host` only where the engine has hosts (MariaDB's `'%'` etc.). */
export interface GuestUserInfo {
  readonly name: string
  readonly host?: string
  readonly databases: readonly { readonly name: string }[]
}

export interface UserRef {
  readonly name: string
  readonly host?: string | undefined
}

export interface UserChanges {
  readonly name?: string | undefined
  readonly password?: string | undefined
  readonly host?: string | undefined
}

/** What the control plane tells a node about the instance it is asked to act on. */
export interface InstanceSpec {
  readonly instanceId: string
  readonly datastore: string
  readonly version: string
  /**
   * The instance's own address, from its node's pool; the engine listens there. Absent for an
   * instance placed without a pool (or before pools): it listens on its node's address.
   */
  readonly address?: string
  readonly port: number
  readonly flavor: { readonly ramMb: number; readonly vcpus: number }
  /** Client addresses the engine lets log in (Trove's access.allowed_cidrs); absent: any address. */
  readonly allowedCidrs?: readonly string[]
  /** The volume's size in GB; absent in specs written before volumes had a size of their own. */
  readonly volumeGb?: number
  /** True for a member of a replica set: its heartbeats carry the engine's replication state. */
  readonly replicaSet?: boolean
  /** True for the source of a set with automatic failover: its node watches its engine's process closely (supervisor.ts). */
  readonly failoverWatched?: boolean
}

/** Where a replica follows its source, and the account (and what else its seed needs) it uses there. */
export interface ReplicationSourceRef {
  readonly instanceId: string
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly carry?: Readonly<Record<string, string>>
}

/**
 * A replica set's writer address on the node of its current source: clients connect to
 * `address:port` and reach `target`, the source's engine, whichever member that is now.
 */
export interface WriterFrontend {
  readonly address: string
  readonly port: number
  readonly target: { readonly host: string; readonly port: number }
}

export interface WriterChange {
  readonly changed: boolean
  readonly ms: number
}

/** The engine's replication state, as heartbeats carry it and `GET /instances/{id}` shows it. */
export interface ReplicationReport {
  readonly role: 'source' | 'replica' | 'fenced'
  readonly connected?: boolean
  readonly lagBytes?: number
  readonly lagSeconds?: number
  readonly position?: string
  readonly replicas?: number
  readonly synchronous?: number
  /**
   * On a source whose engine can tell: the bytes of its writes each replica (by instance id) has
   * not yet received and flushed. A replica's own lag cannot show a receiver that is stuck.
   */
  readonly replicaLagBytes?: Readonly<Record<string, number>>
}

/**
 * What should exist of an instance on its node. The node keeps it in the instance's guest folder,
 * so after a restart it knows its engines without asking anyone.
 */
export interface DesiredInstance {
  readonly spec: InstanceSpec
  /**
   * True when the node should keep the engine running (start it again when found stopped) and
   * report heartbeats. False while a task owns the instance (build, restart, delete) or a fault
   * is shown: then the node leaves the engine as it is.
   */
  readonly running: boolean
  /** The instance's archive, once archiving was turned on: the node ships to it every few seconds. */
  readonly archive?: ArchiveRef
}

/** What a node tells the control plane about itself when it starts (and registers). */
export interface NodeAnnouncement {
  readonly protocol: typeof GUEST_PROTOCOL_VERSION
  readonly name: string
  /** Addresses its instances listen on; the first is the one clients are given. */
  readonly addresses: readonly string[]
  /** Ports it hands to instances, inclusive, when it has no address pool. */
  readonly ports: { readonly first: number; readonly last: number }
  /**
   * The pool it gives each instance its own address from (engines on their standard port); absent
   * when it has none usable, and instances share `addresses[0]` with a port each.
   */
  readonly pool?: AnnouncedPool
  readonly capacity: NodeResources
  /** The datastores it can run, with the versions whose binaries it found. */
  readonly manifests: readonly DatastoreManifest[]
  /** How often it sends a NodeHeartbeat; the control plane marks it DOWN after a few missed ones. */
  readonly heartbeatMs: number
  /** What it enforces of a flavor and a volume size; absent from nodes that predate limits. */
  readonly limits?: NodeLimitsReport
}

/** How a node holds instances to their flavor and volume (compute's NodeLimits, as data). */
export interface NodeLimitsReport {
  readonly memory: string
  readonly cpu: string
  readonly volume: string
}

export interface AnnouncedPool {
  readonly cidr: string
  readonly prefix: number
  /** The interface its addresses are added to; absent for loopback. */
  readonly interface?: string
}

export interface NodeResources {
  readonly ramMb: number
  readonly vcpus: number
  readonly diskGb: number
}

/** A node's own heartbeat: it is alive, and which instances it keeps a spec of. */
export interface NodeHeartbeat {
  readonly protocol: typeof GUEST_PROTOCOL_VERSION
  readonly name: string
  readonly observedAt: number
  readonly instances: readonly string[]
}

/** An error as it crosses the bus; rebuilt as a CofferError on the other side. */
export interface WireError {
  readonly code: string
  readonly message: string
  readonly details?: string
  readonly retryable: boolean
}

export interface Heartbeat {
  readonly protocol: typeof GUEST_PROTOCOL_VERSION
  readonly instanceId: string
  /** Milliseconds since the epoch when the node looked; older than the last one seen is dropped. */
  readonly observedAt: number
  readonly serviceStatus: 'HEALTHY' | 'SHUTDOWN' | 'FAILED'
  readonly volumeUsedBytes: number
  /** How the volume is kept (`ext4-loop`, `folder`); absent from older nodes. */
  readonly volumeType?: string
  /** Free bytes on a volume that is its own file system (what the engine can still write). */
  readonly volumeFreeBytes?: number
  /** Epoch ms of the last change in the instance's archive (point-in-time restore reaches it); absent without one. */
  readonly archivedThrough?: number
  /** A replica set member's replication state, as the engine says it. */
  readonly replication?: ReplicationReport
}

/** How far a backup or restore has got, published by the node while it streams (for progress displays). */
export interface TransferProgress {
  readonly protocol: typeof GUEST_PROTOCOL_VERSION
  /** The backup's id for a backup or a drill; the new instance's id for a restore. */
  readonly id: string
  readonly kind: 'backup' | 'restore'
  /** Bytes of engine data moved so far. */
  readonly bytes: number
  readonly observedAt: number
}

/**
 * One stored backup as the control plane hands it to a node for a single command: its objects as
 * recorded, its engine positions, and its data key unwrapped for this call only (base64).
 */
export interface BackupRef {
  readonly backupId: string
  /** `backups/<backupId>/`. */
  readonly prefix: string
  readonly objects: readonly { readonly key: string; readonly size: number; readonly sha256: string }[]
  readonly dataKey: string
  readonly position: Readonly<Record<string, string>>
  readonly takenAt: string
}

/** An instance's archive (WAL, binary logs): where it is, whose it is, and its key (base64) for this call. */
export interface ArchiveRef {
  readonly instanceId: string
  /** `archives/<instanceId>/`. */
  readonly prefix: string
  readonly key: string
}

export interface BackupCommand {
  readonly backupId: string
  readonly prefix: string
  /** The new backup's data key (base64), unwrapped for this call. */
  readonly dataKey: string
  /** The chain's tip this backup is incremental to; absent: full. */
  readonly parent?: BackupRef
  readonly archive?: ArchiveRef
}

/** What a node reports of a finished backup, after it read every object back and checked it. */
export interface BackupReport {
  readonly strategy: string
  readonly objects: readonly { readonly key: string; readonly size: number; readonly sha256: string }[]
  readonly dataBytes: number
  readonly storedBytes: number
  readonly position: Readonly<Record<string, string>>
  readonly takenAt: string
}

export interface RestoreCommand {
  /** Full backup first, the one asked for last. */
  readonly chain: readonly BackupRef[]
  /** ISO-8601: replay the archive up to this time. */
  readonly restoreTime?: string
  readonly archive?: ArchiveRef
}

/** What a restore drill found: the engine started from the backup and every table was read. */
export interface DrillReport {
  readonly databases: number
  readonly tables: number
  readonly ms: number
}

/**
 * How a caller may end a long command early. In-process the signal is handed through; a bus over a
 * wire sends a cancel for the call when it fires. The node stops what the command was waiting for
 * (child processes, waits for an engine) and the call rejects; the command's partial work is left
 * for the next command on the instance (its delete) to clean up.
 */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined
}

/** Commands a node carries out for the task manager. Every one is idempotent. */
export interface GuestApi {
  /** Records what should exist of an instance (in its guest folder) and supervises it accordingly. */
  ensure(desired: DesiredInstance): Promise<void>
  /** Stops supervising an instance and drops its spec; its engine and envelope are left as they are. */
  forget(instanceId: string): Promise<void>
  /** True when the node could give this address and port to a new instance right now. */
  addressIsFree(address: string, port: number): Promise<boolean>
  createEnvelope(spec: InstanceSpec): Promise<void>
  prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }, options?: CallOptions): Promise<void>
  status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }>
  stop(spec: InstanceSpec): Promise<void>
  destroy(spec: InstanceSpec): Promise<void>
  effectiveConfiguration(spec: InstanceSpec): Promise<Record<string, string | number | boolean>>
  /** The settable parameters of a datastore version on this node; NotImplemented without configuration. */
  catalog(datastore: string, version: string): Promise<ParameterSpec[]>
  /** The character sets and collations a database of this version may have; NotImplemented when the datastore cannot tell. */
  characterSets(datastore: string, version: string): Promise<CharacterSetCatalog>
  /** Makes `values` the instance's configuration overrides; resolves with the names that need a restart. */
  configure(spec: InstanceSpec, values: ConfigurationValues, options?: CallOptions): Promise<{ restartRequired: readonly string[] }>
  /** Grows the instance's volume online to `spec.volumeGb`; never shrinks. */
  growVolume(spec: InstanceSpec, options?: CallOptions): Promise<void>
  /** Stops and starts the engine; resolves once it accepts connections again. */
  restart(spec: InstanceSpec, options?: CallOptions): Promise<void>
  /** Databases, users and root inside the instance; a datastore without the part answers NotImplemented. */
  schema(spec: InstanceSpec, op: SchemaOp): Promise<unknown>
  /** The instance's guest logs (Trove's guest log actions); a datastore without logs answers NotImplemented. */
  log(spec: InstanceSpec, op: LogOp): Promise<unknown>
  /**
   * Backs up the running instance straight to the object store, reads every object back and checks
   * it, and reports what it stored. Leaves no object behind when it fails or is cancelled.
   */
  backup(spec: InstanceSpec, command: BackupCommand, options?: CallOptions): Promise<BackupReport>
  /** Lays a backup chain (and archive, to a time) into the instance's fresh envelope and starts its engine. */
  restore(spec: InstanceSpec, command: RestoreCommand, options?: CallOptions): Promise<void>
  /**
   * A restore drill: restores into a throwaway engine on this node (no address given out, counted
   * nowhere), starts it, reads every table, and removes it whatever happened.
   */
  drill(datastore: string, version: string, command: RestoreCommand, options?: CallOptions): Promise<DrillReport>
  /** Removes a stored backup (its objects, or its record in the engine tool's repository). */
  removeBackup(datastore: string, backup: BackupRef, archive?: ArchiveRef): Promise<void>
  /** Removes an instance's whole archive. */
  removeArchive(datastore: string, archive: ArchiveRef): Promise<void>
  /**
   * Turns continuous archiving on for the instance (the node then ships it every few seconds and
   * reports how far in heartbeats), remembering the archive with the instance's spec. Idempotent.
   */
  archive(spec: InstanceSpec, archive: ArchiveRef): Promise<void>
  /** Makes the running instance able to be followed; resolves with what its replicas need. */
  prepareSource(spec: InstanceSpec): Promise<ReplicationSourceRef>
  /** Seeds the new instance's fresh envelope as a replica of `source` and starts its engine. */
  seedReplica(spec: InstanceSpec, source: ReplicationSourceRef, options?: CallOptions): Promise<void>
  /** Makes the instance a read-only replica of `source` (repointed, or an old source rejoining). */
  follow(spec: InstanceSpec, source: ReplicationSourceRef, options?: CallOptions): Promise<void>
  /** Makes a replica a writable source following nobody. */
  promote(spec: InstanceSpec, options?: CallOptions): Promise<void>
  /** Stops the instance taking writes at once (it stays fenced across restarts); resolves with its last position. */
  fence(spec: InstanceSpec): Promise<{ readonly position: string }>
  /** Whether the replica has replayed everything up to `position`. */
  caughtUp(spec: InstanceSpec, position: string): Promise<boolean>
  replicationStatus(spec: InstanceSpec): Promise<ReplicationReport>
  /** On a source: acknowledge commits only once one of `replicas` has them; [] for asynchronous. */
  setSynchronous(spec: InstanceSpec, replicas: readonly string[]): Promise<void>
  /** On a replica of an engine whose users do not replicate: makes its users and root its source's now. */
  copyReplicaUsers(spec: InstanceSpec, source: ReplicationSourceRef): Promise<void>
  /**
   * Serves a replica set's writer address here, forwarding to its current source (a new frontend,
   * or its backend switched: sessions to the old source are shut). Resolves with whether anything
   * changed and how long it took.
   */
  setWriter(frontend: WriterFrontend): Promise<WriterChange>
  /** Stops serving a writer address here (and gives the address back to the pool). */
  removeWriter(address: string, port: number): Promise<void>
}

/** Trove's guest log types: a SYS log is always on; a USER log is turned on and off by clients. */
export type GuestLogType = 'USER' | 'SYS'

/** Trove's LogStatus names, as its API shows them. */
export type GuestLogStatus = 'Disabled' | 'Enabled' | 'Unavailable' | 'Ready' | 'Published' | 'Partial' | 'Rotated'

/** One guest log as Trove's API shows it. Sizes are bytes of the engine's file. */
export interface GuestLogInfo {
  readonly name: string
  readonly type: GuestLogType
  readonly status: GuestLogStatus
  /** Bytes of the engine's file already published. */
  readonly published: number
  /** Bytes written since, waiting for the next publish. */
  readonly pending: number
  /** Where published copies are kept; 'None' until something is published (as Trove). */
  readonly container: string
  readonly prefix: string
  readonly metafile: string
}

/** The published copy of a log, read back for `log-tail` and `log-save`. */
export interface GuestLogContents {
  /** Published text from byte `from` on (the last `lines` lines of it when asked). */
  readonly text: string
  /** Bytes published in all; the next read's `from` for a follower. */
  readonly end: number
}

/** One guest log operation, carried as data so every transport can take it. */
export type LogOp =
  | { readonly op: 'list' }
  | { readonly op: 'show' | 'enable' | 'disable' | 'publish' | 'discard'; readonly name: string }
  | { readonly op: 'read'; readonly name: string; readonly lines?: number | undefined; readonly from?: number | undefined }

/** One database/user/root operation, carried as data so every transport can take it. */
export type SchemaOp =
  | { readonly op: 'list-databases' }
  | { readonly op: 'create-databases'; readonly databases: readonly GuestDatabase[] }
  | { readonly op: 'delete-database'; readonly name: string }
  | { readonly op: 'list-users' }
  | { readonly op: 'create-users'; readonly users: readonly GuestUser[] }
  | { readonly op: 'delete-user'; readonly user: UserRef }
  | { readonly op: 'update-user'; readonly user: UserRef; readonly changes: UserChanges }
  | { readonly op: 'grant'; readonly user: UserRef; readonly databases: readonly string[] }
  | { readonly op: 'revoke'; readonly user: UserRef; readonly database: string }
  | { readonly op: 'enable-root'; readonly password: string }
  | { readonly op: 'disable-root' }
