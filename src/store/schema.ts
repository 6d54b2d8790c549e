/**
 * Table types of the state store. The same schema runs on SQLite (embedded) and PostgreSQL
 * (distributed): times are ISO-8601 text or epoch milliseconds, booleans are 0/1 integers, JSON is text.
 */
import type { Generated, Insertable, Kysely, Selectable, Updateable } from 'kysely'
import type { Operation, ServiceStatus, TaskStatus } from '../core/instance.js'

export interface ProjectTable {
  id: string
  name: string
  created_at: string
}

export interface UserTable {
  id: string
  name: string
  /** scrypt$N$r$p$salt$hash; never the password. */
  password_hash: string
  /** Where a login with no project scope goes; null when the user has none (or it was deleted). */
  default_project_id: string | null
  created_at: string
}

export interface RoleAssignmentTable {
  user_id: string
  project_id: string
  role: string
}

export interface TokenTable {
  /** sha256 of the token; the token itself is never stored. */
  token_hash: string
  user_id: string
  project_id: string
  issued_at: string
  expires_at: number
}

export interface FlavorTable {
  id: string
  name: string
  ram_mb: number
  vcpus: number
  disk_gb: number
  created_at: string
}

export interface DatastoreTable {
  id: string
  name: string
  default_version_id: string | null
  created_at: string
}

export interface DatastoreVersionTable {
  id: string
  datastore_id: string
  name: string
  version_number: string
  /** 1 while a node has the engine's binaries installed. */
  active: number
  /** The datastore's manifest as JSON (capabilities, name rules, default port). */
  manifest: string
  updated_at: string
  /** Values every instance of this version gets under its group's (admins set them); JSON or null. */
  default_values: string | null
}

export interface InstanceTable {
  id: string
  project_id: string
  name: string
  flavor_id: string
  volume_size: number
  datastore_version_id: string
  node: string | null
  /** Its own address from its node's pool; null when it listens on its node's first address. */
  address: string | null
  port: number | null
  /** Changed only through repos/transition.ts, as core/instance.ts TASK_TRANSITIONS allows. */
  task_status: TaskStatus
  service_status: ServiceStatus
  /** The fault shown: of the last operation that failed, until one that mends it succeeds. */
  fault_message: string | null
  fault_details: string | null
  fault_created: string | null
  /** The kind of operation the fault belongs to (core/instance.ts Operation); null before faults named it. */
  fault_operation: Operation | null
  /** The task that failed, when the fault came from one. */
  fault_task_id: string | null
  volume_used_bytes: number | null
  /** How the node keeps the volume (`ext4-loop`, `folder`), from heartbeats; null before one said. */
  volume_type: string | null
  /** Free bytes on a volume that is its own file system, from heartbeats. */
  volume_free_bytes: number | null
  /** observedAt (epoch ms) of the last heartbeat taken, so older ones are dropped. */
  heartbeat_at: number | null
  created_at: string
  updated_at: string
  service_status_updated: string
  /** When root was first enabled, and by which user id (Trove's root history); null if never. */
  root_enabled_at: string | null
  root_enabled_by: string | null
  /** The attached configuration group, if any. */
  configuration_id: string | null
  /** 1 when applied configuration waits for a restart (status RESTART_REQUIRED). */
  pending_restart: Generated<number>
  /** For a spare: the build of Coffer that made it (see build-id.ts); null for client instances. */
  built_by: string | null
  /** 1 while a user has the instance stopped (the stop action); its engine is then not supervised. */
  stopped: Generated<number>
  /** Trove's access.allowed_cidrs as a JSON list; null: clients from any address. */
  allowed_cidrs: string | null
  /** Trove's access.is_public: the instance has an address on a real interface. */
  is_public: Generated<number>
  /** The source this replica follows (Trove's replica_of); null for a source or a standalone instance. */
  replica_of: string | null
  /** JSON: the engine's replication state as the last heartbeat said it (guest/protocol.ts ReplicationReport). */
  replication: string | null
  /** On a source: promote a replica by itself when the source's engine is lost (1), or not (0). */
  auto_failover: Generated<number>
  /** On a source: commits wait for a replica (1), or not (0). */
  sync_replication: Generated<number>
  /** On a set's source: the set's writer address and port (HAProxy on its node forwards them here); null otherwise. */
  writer_address: string | null
  writer_port: number | null
}

export interface ConfigurationTable {
  id: string
  project_id: string
  name: string
  description: string | null
  datastore_version_id: string
  /** JSON object of parameter name → value, validated against the version's catalog. */
  values: string
  created_at: string
  updated_at: string
}

export interface TaskTable {
  id: string
  instance_id: string
  kind: string
  input: string
  /** pending | running | done | failed | cancelled */
  state: string
  lease_owner: string | null
  lease_until: number | null
  attempts: Generated<number>
  error: string | null
  created_at: string
  updated_at: string
}

export interface TaskStepTable {
  task_id: string
  name: string
  result: string | null
  completed_at: string
}

/** A node as it registered (guest/protocol.ts NodeAnnouncement) and as its heartbeats show it. */
export interface NodeTable {
  name: string
  /** JSON array; the first address is the one clients are given. */
  addresses: string
  /** The ports it hands to instances, inclusive. */
  port_first: number
  port_last: number
  /** The pool it gives instances their own address from (CIDR), and the interface they go on; null: none. */
  pool_cidr: string | null
  pool_interface: string | null
  ram_mb: number
  vcpus: number
  disk_gb: number
  /** JSON array of the datastore manifests it serves. */
  manifests: string
  heartbeat_ms: number
  /** Epoch ms of its last heartbeat or registration. */
  last_heartbeat: number
  /** UP | DOWN | DRAINING (core/node.ts) */
  state: string
  /** JSON: what the node enforces ({memory, cpu, volume}); null for nodes that predate limits. */
  limits: string | null
  registered_at: string
}

export interface QuotaTable {
  project_id: string
  /** A core/quotas.ts QuotaResource. */
  resource: string
  /** -1: no limit. */
  hard_limit: number
  updated_at: string
}

/** A datastore a client has created an instance of, ever (spares of it are kept on demand). */
export interface DatastoreUseTable {
  datastore_id: string
  first_used_at: string
}

/** Trove's backup statuses (trove/backup/state.py); NEW, BUILDING and SAVING count as running. */
export type BackupStatus = 'NEW' | 'BUILDING' | 'SAVING' | 'COMPLETED' | 'FAILED' | 'DELETE_FAILED'

export interface BackupTable {
  id: string
  project_id: string
  /** The instance it was taken of; kept after that instance is deleted. */
  instance_id: string
  name: string
  description: string | null
  /** The backup this one is incremental to; null for a full backup. */
  parent_id: string | null
  datastore_version_id: string
  status: BackupStatus
  /** Why it failed, or what its drill found; shown to its owner. */
  status_detail: string | null
  /** The datastore's strategy (`pgbackrest`, `mariabackup`, `rdb`). */
  strategy: string | null
  /** Key prefix of its objects in the object store: `backups/<id>/`. */
  location: string
  /** Its data key, wrapped by the master key (storage/data-key.ts) with the backup's id as label. */
  wrapped_key: string
  /** JSON: the objects stored ({key, size, sha256}[]), as verified. */
  objects: string | null
  /** JSON: engine positions (LSN, GTID, binlog, pgBackRest label). */
  position: string | null
  /** Bytes of engine data (what a restore needs on its volume), and bytes stored. */
  data_bytes: number | null
  stored_bytes: number | null
  /** sha256 over the objects' sha256s, in order. */
  checksum: string | null
  /** The backup's consistent point (ISO). */
  taken_at: string | null
  /** The last restore drill: when, and passed or failed. */
  verified_at: string | null
  verify_status: string | null
  verify_detail: string | null
  /** The schedule that made it (its retention applies), if any. */
  schedule_id: string | null
  created_at: string
  updated_at: string
}

/** An instance's archive of changes for point-in-time restore; kept after the instance is deleted. */
export interface BackupArchiveTable {
  instance_id: string
  project_id: string
  datastore_version_id: string
  /** `archives/<instance id>/`. */
  location: string
  wrapped_key: string
  /** The last change archived (ISO), from the node; null before the first. */
  latest_at: string | null
  created_at: string
}

/** A backup schedule: a cron trigger of Mistral's `trove.backup_create` workflow, or Coffer's own. */
export interface BackupScheduleTable {
  /** The cron trigger's name (troveclient: a UUID). */
  id: string
  project_id: string
  instance_id: string
  /** The backups' name; each run's backup is named this plus its time. */
  name: string
  description: string | null
  /** The cron pattern as given: 5 fields, or 6 with seconds first (Quartz, Mistral). Read in UTC. */
  pattern: string
  incremental: number
  /** Run a restore drill on each backup once it completed. */
  verify: number
  /** Retention: keep the last N completed backups of this schedule, and/or those of the last N days. */
  keep_last: number | null
  keep_days: number | null
  /** JSON text of the Mistral workflow input, as sent (troveclient compares executions' input to it). */
  workflow_input: string
  /** The next time it fires (ISO); null when the pattern has no further time. */
  next_run_at: string | null
  last_run_at: string | null
  created_at: string
  updated_at: string
}

export type ScheduleRunState = 'RUNNING' | 'SUCCESS' | 'ERROR' | 'MISSED'

/** One time a schedule was due: its Mistral execution. */
export interface BackupScheduleRunTable {
  id: string
  schedule_id: string
  /** The time the pattern named (ISO). */
  scheduled_for: string
  /** When Coffer asked for the backup; null for a MISSED run. */
  started_at: string | null
  state: ScheduleRunState
  backup_id: string | null
  /** Why it failed or was missed, shown to the owner. */
  message: string | null
  updated_at: string
}

/** Something that happened to an instance (a set operation, an automatic failover), for its owner to read. */
export interface InstanceEventTable {
  id: string
  instance_id: string
  project_id: string
  /** ISO time. */
  at: string
  /** promote, eject, detach, failover, failover-refused. */
  kind: string
  message: string
}

export interface Schema {
  projects: ProjectTable
  users: UserTable
  role_assignments: RoleAssignmentTable
  tokens: TokenTable
  flavors: FlavorTable
  datastores: DatastoreTable
  datastore_versions: DatastoreVersionTable
  instances: InstanceTable
  tasks: TaskTable
  task_steps: TaskStepTable
  configurations: ConfigurationTable
  nodes: NodeTable
  quotas: QuotaTable
  datastore_use: DatastoreUseTable
  backups: BackupTable
  backup_archives: BackupArchiveTable
  backup_schedules: BackupScheduleTable
  backup_schedule_runs: BackupScheduleRunTable
  instance_events: InstanceEventTable
}

export type Db = Kysely<Schema>
export type InstanceRow = Selectable<InstanceTable>
export type NewInstanceRow = Insertable<InstanceTable>
export type InstanceUpdate = Updateable<InstanceTable>
export type FlavorRow = Selectable<FlavorTable>
export type TaskRow = Selectable<TaskTable>
export type DatastoreRow = Selectable<DatastoreTable>
export type DatastoreVersionRow = Selectable<DatastoreVersionTable>
export type ConfigurationRow = Selectable<ConfigurationTable>
export type NodeRow = Selectable<NodeTable>
export type BackupRow = Selectable<BackupTable>
export type BackupArchiveRow = Selectable<BackupArchiveTable>
export type BackupScheduleRow = Selectable<BackupScheduleTable>
export type BackupScheduleRunRow = Selectable<BackupScheduleRunTable>
