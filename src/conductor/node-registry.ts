/**
 * Takes node registrations and node heartbeats into the nodes table, marks silent nodes DOWN, and
 * keeps the datastore versions active exactly while an UP node serves them. Also keeps what the
 * largest UP node can give one instance, which the API checks flavors against.
 */
import { errorMessage } from '../core/errors.js'
import type { NodeAnnouncement, NodeHeartbeat } from '../guest/protocol.js'
import { syncDatastores } from '../store/repos/datastores.js'
import { listNodes, markSilentNodesDown, recordNode, touchNode } from '../store/repos/nodes.js'
import type { Db } from '../store/schema.js'

export interface LargestNode {
  readonly ramMb: number
  readonly vcpus: number
}

export class NodeRegistry {
  readonly #db: Db
  readonly #log: (msg: string) => void
  #largest = { ramMb: 0, vcpus: 0 }
  /** A live view for the API: read at each request, updated whenever a node comes or goes. */
  readonly capacity: LargestNode

  constructor(db: Db, log: (msg: string) => void) {
    this.#db = db
    this.#log = log
    const self = this
    this.capacity = {
      get ramMb() {
        return self.#largest.ramMb
      },
      get vcpus() {
        return self.#largest.vcpus
      },
    }
  }

  /** Reads the nodes as the last run left them; they stay UP until they miss heartbeats. */
  async load(): Promise<void> {
    // Versions are left as recorded: the nodes have not spoken yet, and a restart of the control
    // plane must not take a version away from the nodes that still serve it.
    await this.#refresh(false)
  }

  async register(a: NodeAnnouncement): Promise<void> {
    await recordNode(this.#db, a)
    this.#log(`node ${a.name} registered: ${a.manifests.map((m) => `${m.name} ${m.versions.map((v) => v.name).join('/')}`).join(', ') || 'no datastores'}`)
    await this.#refresh()
  }

  /** Resolves false for a node that never registered (its heartbeat is ignored). */
  async heartbeat(hb: NodeHeartbeat): Promise<boolean> {
    const { known, cameBack } = await touchNode(this.#db, hb.name, hb.observedAt)
    if (cameBack) {
      this.#log(`node ${hb.name} is UP again`)
      await this.#refresh()
    }
    return known
  }

  /** Marks DOWN the nodes that stopped heartbeating; their datastore versions go inactive unless another node serves them. */
  async checkSilent(): Promise<void> {
    const down = await markSilentNodesDown(this.#db)
    if (down.length === 0) return
    this.#log(`node(s) ${down.join(', ')} missed their heartbeats: DOWN`)
    await this.#refresh()
  }

  async #refresh(versions = true): Promise<void> {
    const up = (await listNodes(this.#db)).filter((n) => n.state === 'UP')
    if (versions) await syncDatastores(this.#db, up.flatMap((n) => n.manifests))
    this.#largest = { ramMb: Math.max(0, ...up.map((n) => n.capacity.ramMb)), vcpus: Math.max(0, ...up.map((n) => n.capacity.vcpus)) }
  }

  /** Runs `checkSilent` every `everyMs` until the returned function is called. */
  watch(everyMs: number): () => void {
    const timer = setInterval(() => void this.checkSilent().catch((err) => this.#log(`nodes: ${errorMessage(err)}`)), everyMs)
    timer.unref()
    return () => clearInterval(timer)
  }
}
