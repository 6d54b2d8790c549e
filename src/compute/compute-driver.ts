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

export interface ComputeDriver {
  /** Where the envelope of an instance is (whether or not it exists yet). */
  paths(instanceId: string): EnvelopePaths
  /** Creates the envelope: the instance's own account, and folders it owns. Idempotent. */
  createEnvelope(instanceId: string): Promise<Envelope>
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
  /** Per-node cache shared by instances (engine templates). */
  readonly cacheDir: string
  /** Creates the cache folder and lets a node-wide engine account (templates) reach it; returns its path. */
  prepareCache(owner: EnvelopeOwner): Promise<string>
}
