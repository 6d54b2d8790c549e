/**
 * The seam between the node and one engine family. Everything engine-specific lives in
 * `guest/datastores/<name>/`; a datastore offers only the parts it implements, so a manifest can
 * never claim a capability that is not there (capabilitiesOf derives it from the parts).
 */
import type { CharacterSetCatalog } from '../../core/character-sets.js'
import type { ConfigurationValues, ParameterSpec } from '../../core/configuration.js'
import type { DatastoreManifest, DatastoreVersionInfo } from '../../core/manifest.js'
import type { GuestDatabase, GuestUser, GuestUserInfo, UserChanges, UserRef } from '../protocol.js'
import type { BackupAdmin } from './backup.js'
import type { ReplicationAdmin } from './replication.js'

export type { GuestUserInfo, UserChanges, UserRef } from '../protocol.js'

/** The OS account an engine runs as; engines never run as root. */
export interface OsAccount {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /**
   * cgroup.procs files an engine started as this account joins before it runs (the instance's
   * flavor limits); absent or empty: none. Only root can join them, so only root sets them.
   */
  readonly cgroupProcs?: readonly string[]
}

/** Everything the guest needs to know about one instance on this node. */
export interface InstanceContext {
  readonly instanceId: string
  readonly version: DatastoreVersionInfo
  /** Root of the instance's volume; the engine's data lives below it. Owned by `account`. */
  readonly volumeDir: string
  /** Private folder for sockets and pid files, owned by `account`, mode 0700. */
  readonly runDir: string
  /** Folder only Coffer itself reads: the guest's secrets and notes. Mode 0700. */
  readonly guestDir: string
  /** Shared per-node cache (templates), owned by Coffer. */
  readonly cacheDir: string
  readonly bindAddress: string
  readonly port: number
  readonly flavor: { readonly ramMb: number; readonly vcpus: number }
  /**
   * Client addresses (CIDRs) the engine lets log in, rendered into its own access rules at every
   * start; absent: any address. The service account's private socket is never affected.
   */
  readonly allowedCidrs?: readonly string[] | undefined
  /** The instance's own OS account (when Coffer runs as root): the engine runs as it and owns the volume. */
  readonly account: OsAccount
  /** The datastore's node-wide account (e.g. Debian's `postgres`): builds templates in the cache. */
  readonly nodeAccount: OsAccount
  /**
   * Fires when the control plane cancels the command (the instance is being deleted). Waits and
   * child processes started for the command stop and the call rejects; what was started (an engine)
   * may stay for the delete to remove. Absent: the command cannot be cancelled.
   */
  readonly signal?: AbortSignal | undefined
}

export interface PrepareSpec {
  readonly databases: readonly GuestDatabase[]
  readonly users: readonly GuestUser[]
}

export type EngineState = 'running' | 'starting' | 'stopped' | 'failed'

export interface EngineStatus {
  readonly state: EngineState
  /** True when a real client login and a trivial query succeeded just now. */
  readonly healthy: boolean
  readonly pid?: number
  readonly detail?: string
}

/** Required of every datastore: bring an engine to life and report on it. */
export interface EngineLifecycle {
  /**
   * Initialise the data folder, write configuration, start the engine, secure it and create the
   * initial databases and users. Idempotent: run again after a crash at any point, it finishes the
   * job without creating anything twice. Resolves when the engine accepts connections.
   */
  prepare(ctx: InstanceContext, spec: PrepareSpec): Promise<void>
  /** Start a prepared engine detached from Coffer; resolves once it accepts connections. No-op if running. */
  start(ctx: InstanceContext): Promise<void>
  /** Stop the engine (fast shutdown) and wait until the process has exited. No-op if stopped. */
  stop(ctx: InstanceContext): Promise<void>
  /** Look at the engine: process alive, and a real login works. Never throws. */
  status(ctx: InstanceContext): Promise<EngineStatus>
  /** Effective engine settings derived from the flavor (what `GET .../configuration` shows). */
  effectiveConfiguration(ctx: InstanceContext): Record<string, string | number | boolean>
}

/** Optional: databases inside an instance. Names arrive validated against the manifest's rules. */
export interface DatabaseAdmin {
  /** Databases a client made; the engine's own (system, reserved) ones are left out. */
  list(ctx: InstanceContext): Promise<GuestDatabase[]>
  /** Creates the databases; one that exists already is left as it is. */
  create(ctx: InstanceContext, databases: readonly GuestDatabase[]): Promise<void>
  /** Drops the database (ending its sessions). No-op when it does not exist. */
  delete(ctx: InstanceContext, name: string): Promise<void>
}

/** Optional: users inside an instance. Passwords go in, never come back out. */
export interface UserAdmin {
  /** Users a client made, with the databases each may use; the engine's own users are left out. */
  list(ctx: InstanceContext): Promise<GuestUserInfo[]>
  /** Creates the users and grants them their databases; an existing one gets the new password and grants. */
  create(ctx: InstanceContext, users: readonly GuestUser[]): Promise<void>
  /** Drops the user; what it owns is kept (given to the service account). No-op when absent. */
  delete(ctx: InstanceContext, user: UserRef): Promise<void>
  /** Changes only the given fields: rename, new password, new host (where the engine has hosts). */
  update(ctx: InstanceContext, user: UserRef, changes: UserChanges): Promise<void>
  /** Lets the user use these databases (all privileges on them). Idempotent. */
  grant(ctx: InstanceContext, user: UserRef, databases: readonly string[]): Promise<void>
  /** Takes one database away from the user; afterwards the user cannot use it. Idempotent. */
  revoke(ctx: InstanceContext, user: UserRef, database: string): Promise<void>
}

/** Optional: configuration parameters (Trove's configuration groups) applied to a running engine. */
export interface ConfigurationAdmin {
  /**
   * The parameters clients may set on this version: read from the engine itself where it can tell
   * (e.g. a throwaway engine started once from the node's template, the answer cached in
   * `node.cacheDir`), filtered by the datastore's allow-list of what is safe to expose (no file
   * paths, no security switches). Stable across calls.
   */
  catalog(node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<ParameterSpec[]>
  /**
   * Makes `values` the instance's overrides (already validated against the catalog): applied to the
   * running engine where it can take them live, and persisted so they survive a restart; every
   * parameter not in `values` goes back to its flavor-derived default. Idempotent. Resolves with the
   * names whose new value takes effect only after a restart.
   */
  apply(ctx: InstanceContext, values: ConfigurationValues): Promise<{ readonly restartRequired: readonly string[] }>
}

/** Optional: the engine superuser, off until a client enables it (Trove's root). */
export interface RootAdmin {
  /**
   * Creates or resets the superuser with this password, able to log in from anywhere the engine
   * listens. Returns the user name clients should use (`root`, `postgres`, `default`...).
   */
  enable(ctx: InstanceContext, password: string): Promise<{ name: string }>
  /** Removes the superuser's ability to log in. Idempotent. */
  disable(ctx: InstanceContext): Promise<void>
}

/** One log an engine writes (Trove's guest log definition). */
export interface GuestLogDefinition {
  /** The name clients use: `general`, `slow_query`, `error`... */
  readonly name: string
  /** SYS logs are always on and cannot be turned off; USER logs are off until a client enables them. */
  readonly type: 'USER' | 'SYS'
  /** The file the engine writes this log to now (it may not exist yet). */
  file(ctx: InstanceContext): Promise<string>
  /**
   * Where several logs share one file: whether an entry (a line with the lines that continue it)
   * belongs to this log. Absent: the whole file is this log.
   */
  keep?(entry: string): boolean
  /** Optional: brings the file up to date before it is read, for a log the engine keeps in memory. */
  collect?(ctx: InstanceContext): Promise<void>
}

/** Optional: the engine's logs, which clients list, turn on and off, and publish (Trove's guest logs). */
export interface LogAdmin {
  readonly logs: readonly GuestLogDefinition[]
  /** Whether a USER log is on in the running engine now. */
  enabled(ctx: InstanceContext, name: string): Promise<boolean>
  /** Turns a USER log on or off in the running engine, and so that it stays so after a restart. Idempotent. */
  setEnabled(ctx: InstanceContext, name: string, on: boolean): Promise<void>
}

export interface Datastore {
  /**
   * Finds the engine binaries installed on this node; the manifest lists what was found, and its
   * capabilities are those of the parts below (`defineDatastore`). Never throws.
   */
  discover(): Promise<DatastoreManifest>
  /** OS account name the engines of this datastore run as when Coffer runs as root. */
  readonly osAccountName: string
  readonly engine: EngineLifecycle
  /**
   * Optional: make the next prepare fast (e.g. build a pre-initialised data folder in the node's
   * cache). Called in the background when the node starts; prepare must work without it.
   */
  warm?(node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<void>
  readonly databases?: DatabaseAdmin
  /**
   * Optional, with databases: the character sets and collations a database may have, read from the
   * engine (cached in `node.cacheDir`). Without it the API checks only their spelling.
   */
  characterSets?(node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<CharacterSetCatalog>
  readonly users?: UserAdmin
  readonly root?: RootAdmin
  readonly configuration?: ConfigurationAdmin
  readonly logs?: LogAdmin
  /** Backups and restores with the engine's own tools (backup.ts). */
  readonly backup?: BackupAdmin
  /** Replica sets with the engine's own replication (replication.ts). */
  readonly replication?: ReplicationAdmin
}
