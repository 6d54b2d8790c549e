/**
 * Where instances run. A compute driver gives each instance its envelope — a volume, a private run
 * folder, a folder for the guest's own files — and reports on it. The local driver keeps them all
 * under the home folder; another driver could use real block devices or another host.
 */
export interface EnvelopePaths {
  /** The instance's volume: the engine's data and logs. */
  readonly volumeDir: string
  /** Sockets and pid files; only the engine account and Coffer can enter. */
  readonly runDir: string
  /** The guest's secrets and notes; only Coffer can enter. */
  readonly guestDir: string
}

/** The OS account an instance's engine runs as: its own, when Coffer runs as root. */
export interface EnvelopeOwner {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

export interface Envelope extends EnvelopePaths {
  readonly account: EnvelopeOwner
}

export interface EnvelopeOptions {
  /** The volume's size; without it (or where sizes cannot be enforced) the volume is a plain folder. */
  readonly volumeGb?: number
}

/** How an instance's volume is kept: its own file system of fixed size, or a folder on the host's. */
export type VolumeType = 'ext4-loop' | 'folder'

export interface VolumeSpace {
  readonly type: VolumeType
  /** Size and free bytes of a volume that is its own file system (statfs); absent for a folder. */
  readonly totalBytes?: number
  readonly freeBytes?: number
}

/** What a node enforces: the flavor's memory and CPUs through cgroups (or nothing), the volume's size. */
export interface NodeLimits {
  readonly memory: 'cgroup-v1' | 'cgroup-v2' | 'none'
  readonly cpu: 'cgroup-v1' | 'cgroup-v2' | 'none'
  readonly volume: VolumeType
}

export interface ComputeDriver {
  /** Where the envelope of an instance is (whether or not it exists yet). */
  paths(instanceId: string): EnvelopePaths
  /**
   * Creates the envelope: the instance's own account, and folders it owns; with `volumeGb`, where
   * the host allows, a volume of that size the engine cannot write past. Idempotent.
   */
  createEnvelope(instanceId: string, options?: EnvelopeOptions): Promise<Envelope>
  /** Ids of the instances that have (part of) an envelope here, made or half made. */
  listEnvelopes(): Promise<string[]>
  /** The envelope of an instance, or undefined when it has none (never made, or destroyed). */
  envelope(instanceId: string): Promise<Envelope | undefined>
  /** Removes the envelope, its account and everything in it. Idempotent; only removes what it created. */
  destroyEnvelope(instanceId: string): Promise<void>
  /**
   * Bytes used on the instance's volume; 0 when it does not exist. May be the last measure, renewed
   * in the background, so a call answers at once however large the volume is.
   */
  volumeUsedBytes(instanceId: string): Promise<number>
  /**
   * True when `address`:`port` could be given to a new instance right now: nothing listens there,
   * and an address of the pool is used by nothing at all (no listener on any port; on a real
   * interface, no host of the network answers at it).
   */
  addressIsFree(address: string, port: number): Promise<boolean>
  /** Makes an instance's address reachable (adds it to the pool's interface); idempotent, nothing for loopback. */
  attachAddress(address: string): Promise<void>
  /** Takes an instance's address away again; idempotent. Never touches an address outside the pool. */
  detachAddress(address: string): Promise<void>
  /** How the volume is kept and, for its own file system, its free space; read at each heartbeat. */
  volumeSpace(instanceId: string): Promise<VolumeSpace>
  /**
   * Grows the volume to `sizeGb` (never shrinks); no-op for a folder. Idempotent. Online where the
   * host allows; otherwise the file system is grown unmounted inside `whileStopped`, which stops
   * the engine around it and starts it again.
   */
  growVolume(instanceId: string, sizeGb: number, whileStopped: (work: () => Promise<void>) => Promise<void>): Promise<void>
  /**
   * Writes the flavor's limits for the instance's engine and resolves with what a process joins to
   * come under them (cgroup.procs files); [] where nothing can be limited. Called before each start.
   */
  applyLimits(instanceId: string, flavor: { readonly ramMb: number; readonly vcpus: number }): Promise<readonly string[]>
  /** Which limits this node enforces. */
  limits(): Promise<NodeLimits>
  /** Per-node cache shared by instances (engine templates). */
  readonly cacheDir: string
  /** Creates the cache folder and lets a node-wide engine account (templates) reach it; returns its path. */
  prepareCache(owner: EnvelopeOwner): Promise<string>
}
