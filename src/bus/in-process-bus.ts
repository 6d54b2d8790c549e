import type { GuestApi, Heartbeat } from '../guest/protocol.js'
import type { Bus } from './bus.js'

/** The embedded mode's bus: one process, direct calls. */
export class InProcessBus implements Bus {
  readonly #nodes = new Map<string, GuestApi>()
  readonly #handlers: ((hb: Heartbeat) => void)[] = []

  attach(name: string, node: GuestApi): void {
    this.#nodes.set(name, node)
  }

  node(name: string): GuestApi {
    const n = this.#nodes.get(name)
    if (!n) throw new Error(`node ${name} is not connected`)
    return n
  }

  nodes(): readonly string[] {
    return [...this.#nodes.keys()]
  }

  publishHeartbeat(hb: Heartbeat): void {
    for (const h of this.#handlers) h(hb)
  }

  onHeartbeat(handler: (hb: Heartbeat) => void): void {
    this.#handlers.push(handler)
  }
}
