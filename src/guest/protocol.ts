/**
 * Versioned messages between the control plane and the guests on a node (like Trove's guest RPC
 * and CloudNativePG's instance status). Types only; both planes import this file.
 */
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

/** What the control plane tells a node about the instance it is asked to act on. */
export interface InstanceSpec {
  readonly instanceId: string
  readonly datastore: string
  readonly version: string
  readonly port: number
  readonly flavor: { readonly ramMb: number; readonly vcpus: number }
}

export interface Heartbeat {
  readonly protocol: typeof GUEST_PROTOCOL_VERSION
  readonly instanceId: string
  /** Milliseconds since the epoch when the node looked; older than the last one seen is dropped. */
  readonly observedAt: number
  readonly serviceStatus: 'HEALTHY' | 'SHUTDOWN' | 'FAILED'
  readonly volumeUsedBytes: number
}

/** Commands a node carries out for the task manager. Every one is idempotent. */
export interface GuestApi {
  /** True when the node could give this port to a new instance right now. */
  portIsFree(port: number): Promise<boolean>
  createEnvelope(spec: InstanceSpec): Promise<void>
  prepare(spec: InstanceSpec, initial: { databases: GuestDatabase[]; users: GuestUser[] }): Promise<void>
  status(spec: InstanceSpec): Promise<{ healthy: boolean; state: string; detail?: string }>
  stop(spec: InstanceSpec): Promise<void>
  destroy(spec: InstanceSpec): Promise<void>
  effectiveConfiguration(spec: InstanceSpec): Promise<Record<string, string | number | boolean>>
}
