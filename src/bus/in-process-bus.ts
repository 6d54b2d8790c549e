/**
 * The embedded mode's bus: one process, but every message (call, reply, error, cancel, heartbeat,
 * registration) is turned into JSON text and parsed again on the other side, so the embedded mode
 * exercises the same wire format a NATS bus carries.
 */
import { randomUUID } from 'node:crypto'
import { CofferError } from '../core/errors.js'
import type { CallOptions, GuestApi, Heartbeat, NodeAnnouncement, NodeHeartbeat, TransferProgress, WireError } from '../guest/protocol.js'
import type { Bus, NodeCall, NodeHandler } from './bus.js'
import { guestClient } from './guest-client.js'
import { decode, encode, errorFromWire, errorToWire } from './wire.js'

interface Request extends NodeCall {
  readonly callId: string
}
type Reply = { readonly callId: string; readonly value?: unknown } | { readonly callId: string; readonly error: WireError }

export class InProcessBus implements Bus {
  readonly #nodes = new Map<string, NodeHandler>()
  /** Node-side controllers of calls under way, by call id, for cancel messages. */
  readonly #calls = new Map<string, AbortController>()
  readonly #heartbeats: ((hb: Heartbeat) => void)[] = []
  readonly #nodeHeartbeats: ((hb: NodeHeartbeat) => void)[] = []
  readonly #progress: ((p: TransferProgress) => void)[] = []
  #register: ((a: NodeAnnouncement) => Promise<void>) | undefined

  node(name: string): GuestApi {
    return guestClient(this, name)
  }

  async call(node: string, call: NodeCall, options: CallOptions = {}): Promise<unknown> {
    const { signal } = options
    signal?.throwIfAborted()
    const request = encode({ callId: randomUUID(), method: call.method, args: call.args } satisfies Request)
    const handler = this.#nodes.get(node)
    if (!handler) throw new CofferError('INTERNAL', `node ${node} is not connected`)
    const { callId } = decode<Request>(request)
    const cancel = () => this.#cancel(encode({ callId }))
    signal?.addEventListener('abort', cancel, { once: true })
    try {
      const reply = decode<Reply>(await this.#deliver(handler, request))
      if ('error' in reply) throw errorFromWire(reply.error)
      return reply.value
    } finally {
      signal?.removeEventListener('abort', cancel)
    }
  }

  /** The node's side of a call: parse, run, answer with JSON text. */
  async #deliver(handler: NodeHandler, text: string): Promise<string> {
    const req = decode<Request>(text)
    const controller = new AbortController()
    this.#calls.set(req.callId, controller)
    try {
      const value = await handler({ method: req.method, args: req.args }, controller.signal)
      return encode({ callId: req.callId, value } satisfies Reply)
    } catch (err) {
      return encode({ callId: req.callId, error: errorToWire(err) } satisfies Reply)
    } finally {
      this.#calls.delete(req.callId)
    }
  }

  #cancel(text: string): void {
    const { callId } = decode<{ callId: string }>(text)
    this.#calls.get(callId)?.abort(new CofferError('INTERNAL', 'the call was cancelled', { retryable: false }))
  }

  onRegister(handler: (a: NodeAnnouncement) => Promise<void>): void {
    this.#register = handler
  }

  onNodeHeartbeat(handler: (hb: NodeHeartbeat) => void): void {
    this.#nodeHeartbeats.push(handler)
  }

  onHeartbeat(handler: (hb: Heartbeat) => void): void {
    this.#heartbeats.push(handler)
  }

  onProgress(handler: (p: TransferProgress) => void): void {
    this.#progress.push(handler)
  }

  serve(node: string, handler: NodeHandler): () => void {
    this.#nodes.set(node, handler)
    return () => {
      if (this.#nodes.get(node) === handler) this.#nodes.delete(node)
    }
  }

  async register(a: NodeAnnouncement): Promise<void> {
    const text = encode(a)
    if (!this.#register) throw new CofferError('INTERNAL', 'no control plane is listening for nodes')
    try {
      await this.#register(decode<NodeAnnouncement>(text))
    } catch (err) {
      throw errorFromWire(decode<WireError>(encode(errorToWire(err))))
    }
  }

  publishNodeHeartbeat(hb: NodeHeartbeat): void {
    const text = encode(hb)
    for (const h of this.#nodeHeartbeats) h(decode<NodeHeartbeat>(text))
  }

  publishHeartbeat(hb: Heartbeat): void {
    const text = encode(hb)
    for (const h of this.#heartbeats) h(decode<Heartbeat>(text))
  }

  publishProgress(p: TransferProgress): void {
    const text = encode(p)
    for (const h of this.#progress) h(decode<TransferProgress>(text))
  }
}
