/**
 * Settings with defaults for the embedded mode. Flags win over environment variables, which win
 * over defaults.
 */
import type { ObjectStoreSettings } from './storage/object-store-settings.js'
import { homedir, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { type AddressPool, isLoopback, parseAddressPool } from './core/address-pool.js'
import { parseSparePolicy, type SparePolicy } from './core/spares.js'

/**
 * Spares kept when COFFER_SPARES is not set: none until a datastore's first create, then one. A
 * fresh server on a laptop runs no engine nobody asked for; a used datastore's next create is fast.
 */
export const DEFAULT_SPARES = 'on-demand'

/**
 * Pools for a fleet that takes bursts of creates (what the bench measures). A spare costs its idle
 * engine (Redis ~3 MB, PostgreSQL ~16 MB, MariaDB ~45 MB), an OS account and a port; Redis gets
 * enough to take ten creates at once because its spares cost next to nothing.
 */
export const FLEET_SPARES = 'redis=10,postgresql=2,mariadb=2'

/**
 * How often the node looks at its engines and reports. Trove's guests report every 30 s; 10 s keeps
 * an idle node quiet (most of its CPU is per instance and per look) and still restarts a dead engine
 * within two looks.
 */
export const DEFAULT_HEARTBEAT_MS = 10_000

/** Where instances get their own address when COFFER_INSTANCE_NETWORK is not set and the API is on loopback. */
export const DEFAULT_INSTANCE_NETWORK = '127.100.0.0/16'

export interface Settings {
  /** Everything Coffer keeps on this machine: state, instances' volumes, templates, logs. */
  readonly home: string
  readonly port: number
  /** Address the API listens on; instances listen on it too when they have no pool (`instanceNetwork`). */
  readonly bind: string
  /**
   * The pool each instance gets its own address from, its engine on its standard port
   * (COFFER_INSTANCE_NETWORK `CIDR` or `CIDR@IFACE`; `off` for none). Default: 127.100.0.0/16 when
   * the API is on loopback; none when it is not (instances then listen on the API's address, each on
   * its own port from `instancePorts`, reachable as the API is). The node checks at start that it can
   * use it.
   */
  readonly instanceNetwork: AddressPool | undefined
  /** Name of the local node in the state store. */
  readonly nodeName: string
  /** Ports handed to instances, inclusive. */
  readonly instancePorts: { readonly first: number; readonly last: number }
  readonly tokenTtlMs: number
  /** How often the node looks at its engines and reports to the conductor. */
  readonly heartbeatMs: number
  /** Tasks run at once by this process (creates of many instances overlap). */
  readonly taskConcurrency: number
  /** Password for the `admin` user made on first start; generated when absent. */
  readonly adminPassword?: string
  /** The project whose `admin` role makes a cloud admin (identity/roles.ts). */
  readonly adminProject: string
  /**
   * Failed logins allowed per user name (and, x4, per address) within `windowMs` before a lockout
   * of `lockoutMs`, doubling with each lockout in a row (identity/login-throttle.ts).
   */
  readonly loginThrottle: { readonly failures: number; readonly windowMs: number; readonly lockoutMs: number }
  /** Largest volume a create may ask for, in GB (Trove's max_accepted_volume_size). */
  readonly maxVolumeGb: number
  /** Instances a project may have (Trove's max_instances_per_tenant). */
  readonly maxInstancesPerProject: number
  /** Total GB of volumes a project may have (Trove's max_volumes_per_tenant); a quota may change it per project. */
  readonly maxVolumesPerProject: number
  /** Backups a project may keep (Trove's max_backups_per_tenant, default 50). */
  readonly maxBackupsPerProject: number
  /** How often a node closes and ships an instance's archive at the latest (COFFER_ARCHIVE_SECONDS, default 60). */
  readonly archiveSeconds: number
  /**
   * Datastore of a create that names none (Trove's default_datastore). Absent: the first installed
   * of postgresql, mariadb, redis.
   */
  readonly defaultDatastore?: string
  /** Shortest password the API takes for a user or root (COFFER_MIN_PASSWORD_LENGTH; 0 takes any). */
  readonly minPasswordLength: number
  /** Ready instances kept per datastore, for creates that take one (core/spares.ts). */
  readonly spares: SparePolicy
  /**
   * How long a configuration change the engines take live (attach, detach, a group's PUT or PATCH)
   * waits for its applies before answering; past it the answer is 202 with the applies still running.
   */
  readonly configurationWaitMs: number
  /**
   * How old a volume's reported use may get before its folder is walked again (COFFER_VOLUME_MEASURE_SECONDS).
   * A volume that is its own mount is read at every heartbeat instead, without a walk.
   */
  readonly volumeMeasureMs: number
  /** How often a healthy engine is logged in to; in between, its process living is enough (COFFER_HEALTH_CHECK_SECONDS). */
  readonly healthCheckMs: number
  /**
   * How long a source of a set with automatic failover may go unhealthy (its node tries a restart
   * meanwhile) before its most advanced replica replaces it (COFFER_FAILOVER_SECONDS).
   */
  readonly failoverMs: number
  /**
   * An automatic failover in an asynchronous set never promotes a replica further behind its source
   * than this, by the last heartbeats (COFFER_FAILOVER_MAX_LAG_BYTES; Pigsty's pg_rpo).
   */
  readonly failoverMaxLagBytes: number
  /** Where backups are stored (storage/): COFFER_OBJECT_STORE=fs (default) or s3. */
  readonly objectStore: ObjectStoreSettings
  /**
   * The master key wrapping backups' data keys (COFFER_BACKUP_KEY); absent: `<home>/private/backup.key`,
   * made on first use (storage/backup-key.ts). Only the control plane reads it.
   */
  readonly backupKey?: string
  /**
   * Volumes as loop-mounted ext4 images of their size where the host allows (COFFER_VOLUME_LOOP,
   * default on), and flavor limits through cgroups where writable (COFFER_CGROUPS, default on).
   */
  readonly loopVolumes: boolean
  readonly cgroups: boolean
}

export type { ObjectStoreSettings } from './storage/object-store-settings.js'

export interface SettingsInput {
  readonly home?: string
  readonly port?: number | string
  readonly bind?: string
  readonly instanceNetwork?: string
}

/** A setting that must be a number of at least 0 (a mistyped one would fail over at once, or never). */
function nonNegative(name: string, value: string | undefined, fallback: number): number {
  const n = Number(value ?? fallback)
  if (!Number.isFinite(n) || n < 0 || value?.trim() === '') throw new Error(`${name} must be a number of at least 0, not '${value}'`)
  return n
}

export function resolveSettings(flags: SettingsInput = {}, env: NodeJS.ProcessEnv = process.env): Settings {
  const home = resolve(flags.home ?? env.COFFER_HOME ?? join(homedir(), '.local', 'share', 'coffer'))
  const port = Number(flags.port ?? env.COFFER_PORT ?? 8779)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a whole number from 1 to 65535, not ${String(flags.port)}`)
  const first = Number(env.COFFER_INSTANCE_PORT_FIRST ?? 20000)
  const bind = flags.bind ?? env.COFFER_BIND ?? '127.0.0.1'
  const network = flags.instanceNetwork ?? env.COFFER_INSTANCE_NETWORK ?? (isLoopback(bind) ? DEFAULT_INSTANCE_NETWORK : 'off')
  return {
    home,
    port,
    bind,
    instanceNetwork: network === 'off' || network === '' ? undefined : parseAddressPool(network),
    nodeName: env.COFFER_NODE_NAME ?? hostname(),
    instancePorts: { first, last: Number(env.COFFER_INSTANCE_PORT_LAST ?? first + 9999) },
    tokenTtlMs: Number(env.COFFER_TOKEN_TTL_SECONDS ?? 12 * 3600) * 1000,
    heartbeatMs: Number(env.COFFER_HEARTBEAT_MS ?? DEFAULT_HEARTBEAT_MS),
    taskConcurrency: Number(env.COFFER_TASK_CONCURRENCY ?? 16),
    ...(env.COFFER_ADMIN_PASSWORD ? { adminPassword: env.COFFER_ADMIN_PASSWORD } : {}),
    adminProject: env.COFFER_ADMIN_PROJECT || 'admin',
    loginThrottle: {
      failures: Number(env.COFFER_LOGIN_FAILURES ?? 5),
      windowMs: Number(env.COFFER_LOGIN_WINDOW_SECONDS ?? 300) * 1000,
      lockoutMs: Number(env.COFFER_LOGIN_LOCKOUT_SECONDS ?? 60) * 1000,
    },
    maxVolumeGb: Number(env.COFFER_MAX_VOLUME_GB ?? 10),
    maxInstancesPerProject: Number(env.COFFER_MAX_INSTANCES ?? 10),
    maxVolumesPerProject: Number(env.COFFER_MAX_VOLUMES ?? 40),
    maxBackupsPerProject: Number(env.COFFER_MAX_BACKUPS ?? 50),
    archiveSeconds: Number(env.COFFER_ARCHIVE_SECONDS ?? 60),
    ...(env.COFFER_DEFAULT_DATASTORE ? { defaultDatastore: env.COFFER_DEFAULT_DATASTORE } : {}),
    minPasswordLength: Number(env.COFFER_MIN_PASSWORD_LENGTH ?? 8),
    spares: parseSparePolicy(env.COFFER_SPARES ?? DEFAULT_SPARES),
    configurationWaitMs: Number(env.COFFER_CONFIGURATION_WAIT_MS ?? 10_000),
    volumeMeasureMs: Number(env.COFFER_VOLUME_MEASURE_SECONDS ?? 300) * 1000,
    healthCheckMs: Number(env.COFFER_HEALTH_CHECK_SECONDS ?? 30) * 1000,
    // A PostgreSQL crash recovery takes about a second: a restart that works is waited for, and
    // death to a writable replica stays under 5 s.
    failoverMs: nonNegative('COFFER_FAILOVER_SECONDS', env.COFFER_FAILOVER_SECONDS, 2) * 1000,
    failoverMaxLagBytes: nonNegative('COFFER_FAILOVER_MAX_LAG_BYTES', env.COFFER_FAILOVER_MAX_LAG_BYTES, 1024 * 1024),
    loopVolumes: env.COFFER_VOLUME_LOOP !== 'off',
    cgroups: env.COFFER_CGROUPS !== 'off',
    objectStore: objectStoreSettings(home, env),
    ...(env.COFFER_BACKUP_KEY ? { backupKey: env.COFFER_BACKUP_KEY } : {}),
  }
}

function objectStoreSettings(home: string, env: NodeJS.ProcessEnv): ObjectStoreSettings {
  const kind = env.COFFER_OBJECT_STORE || 'fs'
  if (kind === 'fs') return { kind, root: join(home, 'objects') }
  if (kind !== 's3') throw new Error(`COFFER_OBJECT_STORE must be fs or s3, not ${kind}`)
  const need = (name: string): string => {
    const v = env[name]
    if (!v) throw new Error(`COFFER_OBJECT_STORE=s3 needs ${name}`)
    return v
  }
  return {
    kind,
    endpoint: need('COFFER_S3_ENDPOINT'),
    bucket: need('COFFER_S3_BUCKET'),
    region: env.COFFER_S3_REGION || 'us-east-1',
    accessKeyId: need('COFFER_S3_ACCESS_KEY'),
    secretAccessKey: need('COFFER_S3_SECRET_KEY'),
    ...(env.COFFER_S3_CA_FILE ? { caFile: resolve(env.COFFER_S3_CA_FILE) } : {}),
  }
}

export const apiUrl = (s: Settings): string => `http://${s.bind.includes(':') ? `[${s.bind}]` : s.bind}:${s.port}`
