/**
 * What a datastore tells the control plane about itself: data only, shared by both planes. The
 * control plane decides what to allow from these fields, never from the datastore's name.
 */
export const CAPABILITIES = [
  'provisioning',
  'databases',
  'users',
  'root',
  'configuration',
  'backup',
  'incremental_backup',
  'point_in_time_restore',
  'replication',
  'clustering',
] as const
export type Capability = (typeof CAPABILITIES)[number]

/**
 * The optional parts of a datastore that capabilities stand for. Only their presence counts, so
 * core needs none of their types; a datastore (guest/datastores/datastore.ts) fits this shape.
 */
export interface CapabilityParts {
  readonly databases?: unknown
  readonly users?: unknown
  readonly root?: unknown
  readonly configuration?: unknown
  readonly backup?: { readonly supportsIncremental?: boolean; readonly supportsPointInTime?: boolean }
  readonly replication?: unknown
  readonly clustering?: unknown
}

/**
 * What a datastore can do, derived from the parts it has: a capability is never typed by hand, so
 * a manifest cannot claim what is not there nor hide what is. Provisioning needs only the engine
 * lifecycle, which every datastore must have.
 */
export const capabilitiesOf = (parts: CapabilityParts): Readonly<Record<Capability, boolean>> => ({
  provisioning: true,
  databases: parts.databases !== undefined,
  users: parts.users !== undefined,
  root: parts.root !== undefined,
  configuration: parts.configuration !== undefined,
  backup: parts.backup !== undefined,
  incremental_backup: parts.backup?.supportsIncremental === true,
  point_in_time_restore: parts.backup?.supportsPointInTime === true,
  replication: parts.replication !== undefined,
  clustering: parts.clustering !== undefined,
})

export interface DatastoreVersionInfo {
  /** The version users name, e.g. "15" or "10.11". */
  readonly name: string
  /** The full engine version found on the node, e.g. "15.8". */
  readonly versionNumber: string
}

export interface DatastoreManifest {
  /** Trove's datastore type: "postgresql", "mariadb", "mysql", "redis". */
  readonly name: string
  /** Port the engine listens on by convention; instances still get their own port. */
  readonly defaultPort: number
  /** Versions whose binaries were found on the node; empty means not offered. */
  readonly versions: readonly DatastoreVersionInfo[]
  readonly capabilities: Readonly<Record<Capability, boolean>>
  /** Rules for names of databases and users, checked by the API before anything is created. */
  readonly names: NameRules
  /** True when a user is a name and a host (MariaDB's `'app'@'%'`); absent or false otherwise. */
  readonly userHosts?: boolean
  /**
   * The address families whose CIDRs the engine itself can hold clients to (Trove's
   * access.allowed_cidrs); absent: it cannot, and a request naming CIDRs is refused.
   */
  readonly accessFamilies?: readonly (4 | 6)[]
  /** The least flavor RAM, in MB, the engine runs in; a create or resize below it is refused. */
  readonly minRamMb?: number
  /**
   * Configuration parameters that reserve memory at start, with the bytes one bare unit of each
   * stands for (PostgreSQL's shared_buffers: 8192). A flavor with less RAM than the attached
   * group's values add up to is refused.
   */
  readonly memoryParameters?: Readonly<Record<string, number>>
  /** The backup strategy's name (`pgbackrest`, `mariabackup`, `rdb`) when the datastore has backups. */
  readonly backupStrategy?: string
  /** True when a source can acknowledge commits only once a replica has them (a synchronous set). */
  readonly synchronousReplication?: boolean
  /**
   * False when the engine's replication does not carry users and root (Redis's ACLs): the control
   * plane copies them from the source to each replica after every change. Absent: they replicate.
   */
  readonly usersReplicate?: boolean
}

export interface NameRules {
  readonly maxLength: number
  /** Source of a regular expression a database or user name must match in full. */
  readonly pattern: string
  /** Human wording of the pattern, used in 400 messages. */
  readonly patternText: string
  readonly reservedDatabases: readonly string[]
  readonly reservedUsers: readonly string[]
  readonly passwordMaxLength: number
}
