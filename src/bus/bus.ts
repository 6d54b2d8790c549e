/**
 * How the control plane reaches nodes and hears from them. The embedded mode calls the local node
 * in-process; a distributed mode carries the same guest protocol messages over NATS.
 */
import type { GuestApi, Heartbeat } from '../guest/protocol.js'

export interface Bus {
  /** The guest API of a node, by node name. Throws when no such node is known. */
  node(name: string): GuestApi
  /** Names of the nodes that can take new instances. */
  nodes(): readonly string[]
  publishHeartbeat(hb: Heartbeat): void
  onHeartbeat(handler: (hb: Heartbeat) => void): void
}
