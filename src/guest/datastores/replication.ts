/**
 * The replication seam between the node and one engine family (a datastore's optional
 * `replication` part): replica sets with the engine's own replication (PostgreSQL streaming,
 * MariaDB GTID, Redis REPLICAOF). The control plane decides who follows whom; this part only does
 * what one engine is told, idempotently, and reports what the engine itself says.
 */
import type { Readable } from 'node:stream'
import type { ReplicationReport, ReplicationSourceRef } from '../protocol.js'
import type { InstanceContext } from './datastore.js'

/**
 * Where a replica follows its source and the account it replicates as there (the source's
 * address and port as clients reach it), with what the source's prepareSource handed over for its
 * replicas' seed (`carry`, opaque to the node: PostgreSQL's service password, since a hot standby
 * logs in with its source's roles). The same shape crosses the bus (guest/protocol.ts).
 */
export type ReplicationSource = ReplicationSourceRef

/** What prepareSource gives a replica: the replication account, and anything else its seed needs. */
export interface SourceAccount {
  readonly user: string
  readonly password: string
  readonly carry?: Readonly<Record<string, string>>
}

/**
 * What the engine says about its replication now (`source`: takes writes; `replica`: follows a
 * source, read-only; `fenced`: read-only, following nobody), as heartbeats carry it.
 */
export type ReplicationStatus = ReplicationReport

/** A started replica's copy of its source's data: complete, being received or loaded, or not begun (not connected). */
export type SeedProgress = 'whole' | 'copying' | 'waiting'

export interface ReplicationAdmin {
  /**
   * Makes the running engine able to be followed: the replication account (its password kept in
   * ctx.guestDir, made once), and whatever the engine needs (WAL level, binary logs, slots are the
   * caller's business). Idempotent. Resolves with the account for replicas.
   */
  prepareSource(ctx: InstanceContext): Promise<SourceAccount>
  /**
   * Seeds a NEW instance's empty volume (its envelope made, `engine.prepare` never run) as a
   * replica of `source` with the engine's own tool (pg_basebackup; mariadb-backup streamed with
   * its GTID position; Redis's own full sync), and writes what makes the engine, once started,
   * follow the source read-only. Afterwards the node calls `engine.start(ctx)` and expects Coffer's
   * own service login for THIS instance to work. Leaves the engine stopped. Honours ctx.signal.
   */
  seed(ctx: InstanceContext, source: ReplicationSource, snapshot?: Readable): Promise<void>
  /**
   * Optional, on the SOURCE's node: a consistent copy of the running source for a replica's seed,
   * as a byte stream the node carries to `seed` (MariaDB: mariadb-backup --stream=mbstream, its
   * GTID position inside). Engines whose replica pulls its own copy (pg_basebackup, Redis's full
   * sync) leave it out; with it, `seed` needs the stream.
   */
  snapshot?(ctx: InstanceContext): Promise<Readable>
  /**
   * Makes the instance (running, or stopped: it is started) a read-only replica of `source`: a
   * replica repointed after a promote, or an old source rejoining (PostgreSQL: pg_rewind when it
   * diverged; MariaDB: GTID repositioning; Redis: REPLICAOF). Idempotent. Rejects with
   * ENGINE_STATE_CONFLICT when it cannot rejoin without losing its own data silently.
   */
  follow(ctx: InstanceContext, source: ReplicationSource): Promise<void>
  /** Makes a replica a writable source, following nobody. Idempotent (a source stays one). */
  promote(ctx: InstanceContext): Promise<void>
  /**
   * Stops the running engine taking writes at once (read-only for every user, root included, or
   * stopped, when any later start leaves it read-only) and resolves with its last position: before
   * a planned switchover, and to fence an old source.
   */
  fence(ctx: InstanceContext): Promise<{ readonly position: string }>
  /**
   * Optional, for an engine that copies its source's data only once it runs (Redis's full sync):
   * how far the started replica is. The node waits for `whole` after a seed and a follow, so a
   * replica is ACTIVE only with its data, and never shown failed while it loads.
   */
  seeded?(ctx: InstanceContext): Promise<SeedProgress>
  /** Whether a replica has replayed everything up to `position` (a source's fence position). */
  caughtUp(ctx: InstanceContext, position: string): Promise<boolean>
  /** What the engine says now. Never throws: an engine that does not answer is `connected: false`. */
  status(ctx: InstanceContext): Promise<ReplicationStatus>
  /**
   * Optional: on a source, acknowledges a commit only once one of `replicas` (their instance ids)
   * has it (PostgreSQL synchronous_standby_names, MariaDB semi-synchronous replication); empty: async.
   */
  setSynchronous?(ctx: InstanceContext, replicas: readonly string[]): Promise<void>
  /**
   * Optional, for an engine that does not replicate its users (Redis's ACLs): makes a running
   * replica's client users, root included, exactly its source's now, read through `source`'s
   * account. With it the manifest says `usersReplicate: false`, and the control plane calls it on
   * each replica after every user or root change on the source. Idempotent.
   */
  copyUsers?(ctx: InstanceContext, source: ReplicationSource): Promise<void>
}
