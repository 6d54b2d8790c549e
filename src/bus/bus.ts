/**
 * How the control plane and the nodes speak: the only thing the two roles share. The embedded mode
 * carries the messages in-process; a distributed mode carries the same messages over NATS. Every
 * message is JSON on the way (see wire.ts), whatever the transport.
 */
import type { CallOptions, GuestApi, Heartbeat, NodeAnnouncement, NodeHeartbeat, TransferProgress } from '../guest/protocol.js'

/** One guest command addressed to a node: a method of GuestApi and its arguments, as data. */
export interface NodeCall {
  readonly method: keyof GuestApi
  readonly args: readonly unknown[]
}

/** Runs a node's commands; `signal` fires when the caller cancels the call. */
export type NodeHandler = (call: NodeCall, signal: AbortSignal) => Promise<unknown>

export interface Bus {
  // ---- what the control plane uses ----
  /** The guest API of a node, by name; each call goes over the bus. A node not serving rejects the call. */
  node(name: string): GuestApi
  /**
   * Sends one command and waits for its reply. When `options.signal` fires, a cancel for the call
   * is sent and the call rejects; the node aborts what the command was doing.
   */
  call(node: string, call: NodeCall, options?: CallOptions): Promise<unknown>
  /** Takes node registrations; the node's `register` resolves once the handler has. */
  onRegister(handler: (a: NodeAnnouncement) => Promise<void>): void
  onNodeHeartbeat(handler: (hb: NodeHeartbeat) => void): void
  onHeartbeat(handler: (hb: Heartbeat) => void): void
  onProgress(handler: (p: TransferProgress) => void): void

  // ---- what a node uses ----
  /** Takes the commands addressed to `node` until the returned function is called. */
  serve(node: string, handler: NodeHandler): () => void
  /** Announces a node; rejects when no control plane took it (the node tries again). */
  register(a: NodeAnnouncement): Promise<void>
  publishNodeHeartbeat(hb: NodeHeartbeat): void
  publishHeartbeat(hb: Heartbeat): void
  publishProgress(p: TransferProgress): void
}
