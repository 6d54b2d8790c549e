/**
 * The backup seam between the node and one engine family (a datastore's optional `backup` part).
 * Each engine backs up with its own tools (pgBackRest, mariadb-backup, Redis's RDB) and streams
 * straight to the object store: never through the bus or the state store, never a temporary file
 * the size of the data, never whole in memory. Keys arrive unwrapped for the call; the master key
 * that wraps them never reaches a node.
 */
import type { ObjectStoreSettings } from '../../storage/object-store-settings.js'
import type { ObjectStore, PutResult } from '../../storage/object-store.js'
import type { InstanceContext } from './datastore.js'

/** Where an instance's backups and archives live, and how to reach that place with other tools (pgBackRest). */
export interface BackupLocation {
  readonly store: ObjectStore
  /** The same store as settings, for a tool that talks to it itself (pgBackRest's repository). */
  readonly settings: ObjectStoreSettings
}

/** Engine positions a backup records (as strings: LSNs, GTIDs, binlog files, pgBackRest labels). */
export type BackupPosition = Readonly<Record<string, string>>

/** One finished backup, as a later incremental or a restore is told about it. */
export interface StoredBackup {
  readonly backupId: string
  /** Key prefix of its objects: `backups/<backupId>/` (ids only: no names in a key). */
  readonly prefix: string
  /** The objects it wrote, as verified when it completed. */
  readonly objects: readonly PutResult[]
  /** This backup's own data key (32 bytes). */
  readonly dataKey: Buffer
  readonly position: BackupPosition
  /** When the engine's data was consistent (the backup's point in time). */
  readonly takenAt: Date
}

/**
 * The instance's archive of changes between backups (PostgreSQL's WAL, MariaDB's binary logs), for
 * point-in-time restore. One per instance, outliving it; its key is the instance's archive key.
 */
export interface ArchiveTarget {
  readonly location: BackupLocation
  /** `archives/<instanceId>/`. */
  readonly prefix: string
  /** 32 bytes: Coffer's own pipeline seals with it; pgBackRest takes it (hex) as the repository passphrase. */
  readonly key: Buffer
  /**
   * The instance the archive is of: for a restore from a deleted instance's archive, not the
   * instance being restored into.
   */
  readonly instanceId: string
}

export interface BackupRequest {
  readonly backupId: string
  readonly location: BackupLocation
  /** `backups/<backupId>/`. */
  readonly prefix: string
  /** This backup's data key (32 bytes). */
  readonly dataKey: Buffer
  /** The backup this one is incremental to (the chain's tip); absent: a full backup. */
  readonly parent?: StoredBackup
  /** The instance's archive, when the datastore keeps one (pointInTime). */
  readonly archive?: ArchiveTarget
  /** Called as data is read from the engine, with the bytes so far (for progress: bytes, MB/s). */
  readonly onProgress?: (bytes: number) => void
}

export interface BackupOutcome {
  /** What was written under the backup's prefix (empty for a tool that keeps its own repository). */
  readonly objects: readonly PutResult[]
  /** Bytes of engine data backed up (before compression): what the restore will need on the volume. */
  readonly dataBytes: number
  /** LSN, GTID, binlog file and position, pgBackRest label... whatever a child or a restore needs. */
  readonly position: BackupPosition
  readonly takenAt: Date
}

export interface RestoreRequest {
  readonly location: BackupLocation
  /** The chain to apply, full backup first, the backup asked for last. */
  readonly chain: readonly StoredBackup[]
  /** Replay the archive up to (and not past) this time; absent: the last backup's own point. */
  readonly restoreTime?: Date
  /** The archive to replay from; required with restoreTime. */
  readonly archive?: ArchiveTarget
  readonly onProgress?: (bytes: number) => void
}

/** What of an archive can be restored to: from its first backup's point to its last shipped change. */
export interface RestorableWindow {
  readonly earliest?: Date
  readonly latest?: Date
}

/**
 * Optional datastore part: backups with the engine's own tools. Every method honours `ctx.signal`
 * (stops its child processes and rejects) and leaves no partial object behind when it fails.
 */
export interface BackupAdmin {
  /** The strategy's name as `GET /backup_strategies` shows it (`pgbackrest`, `mariabackup`, `rdb`). */
  readonly strategy: string
  readonly supportsIncremental: boolean
  readonly supportsPointInTime: boolean
  /**
   * Backs up the running engine while it keeps serving; resolves once every object is stored (the
   * caller then reads them back to verify). Incremental when `parent` is given.
   */
  backup(ctx: InstanceContext, request: BackupRequest): Promise<BackupOutcome>
  /**
   * Lays the chain (and the archive to `restoreTime`) into the instance's volume, which has an
   * envelope and no engine data yet, and leaves the engine stopped: the caller starts it. A
   * tampered or truncated object rejects with OBJECT_CORRUPT naming the backup, and what was laid
   * down is removed. Idempotent: run again after a crash, it starts over.
   */
  restore(ctx: InstanceContext, request: RestoreRequest): Promise<void>
  /**
   * A restore drill's last look, on an engine restored from a backup and started: reads every
   * table (key space) of every database through a real login and says how many it read. Rejects
   * naming what could not be read.
   */
  check(ctx: InstanceContext): Promise<{ readonly databases: number; readonly tables: number }>
  /** Checks a backup's stored objects without restoring (pgBackRest's `verify`); optional. */
  verify?(request: { readonly location: BackupLocation; readonly backup: StoredBackup; readonly archive?: ArchiveTarget }): Promise<void>
  /** Removes a backup's objects (or the tool's record of it); absent: the caller deletes the prefix. */
  remove?(request: { readonly location: BackupLocation; readonly backup: StoredBackup; readonly archive?: ArchiveTarget }): Promise<void>
  /** Continuous archiving for point-in-time restore; present when supportsPointInTime. */
  readonly archiving?: ArchiveAdmin
}

export interface ArchiveAdmin {
  /**
   * Turns archiving on for the running instance (keeping what it needs, e.g. the key, in
   * ctx.guestDir, which only Coffer reads) and keeps it on across restarts. Idempotent.
   */
  enable(ctx: InstanceContext, archive: ArchiveTarget): Promise<void>
  /**
   * Ships what the engine has closed since the last call (the node calls this every few seconds;
   * the engine may also be made to close its current file when it is older than `maxAgeSeconds`).
   * Resolves with the time of the last change now in the archive, if any.
   */
  ship(ctx: InstanceContext, archive: ArchiveTarget, options: { readonly maxAgeSeconds: number }): Promise<Date | undefined>
  /** What of the archive can be restored to (read from the store: works after the instance is gone). */
  window(archive: ArchiveTarget, backups: readonly StoredBackup[]): Promise<RestorableWindow>
  /** Removes the whole archive (the last backup of a deleted instance went). */
  remove(archive: ArchiveTarget): Promise<void>
}
