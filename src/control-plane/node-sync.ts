/**
 * Tells each node what should exist on it: for every instance placed there, its spec and whether
 * its engine should be kept running (`ensure`), and `forget` for what the node holds that no
 * longer exists. A node keeps these in its instances' guest folders, so it re-adopts its engines
 * after a restart with no state store at hand.
 *
 * Runs on each node heartbeat and when a node registers; sends only what changed since the last
 * message the node took, and everything again when the node registers (it may have restarted).
 */
import { statusInputs } from '../api/views/instance.js'
import type { Bus } from '../bus/bus.js'
import { isSupervised } from '../core/instance.js'
import { errorMessage } from '../core/errors.js'
import type { DesiredInstance } from '../guest/protocol.js'
import { instancesOnNode } from '../store/repos/instances.js'
import type { Db, InstanceRow } from '../store/schema.js'
import { instanceSpecs } from '../tasks/steps/instance-spec.js'

/**
 * The engine is kept running while no task owns the instance and no fault stands in the way but one
 * a restart or a configuration change may mend (core/instance.ts isSupervised): a task (build,
 * restart, delete, configuration apply) starts and stops it itself, and an instance whose build or
 * delete failed is left as the failure left it.
 */
export const shouldRun = (row: InstanceRow): boolean => isSupervised(statusInputs(row))

export class NodeSync {
  readonly #db: Db
  readonly #bus: Bus
  readonly #log: (msg: string) => void
  /** What each node last took, by node and instance id, as JSON. */
  readonly #sent = new Map<string, Map<string, string>>()
  readonly #running = new Map<string, Promise<void>>()
  readonly #inFlight = new Set<string>()

  constructor(o: { readonly db: Db; readonly bus: Bus; readonly log: (msg: string) => void }) {
    this.#db = o.db
    this.#bus = o.bus
    this.#log = o.log
  }

  /** The node (re)started: it is told everything again. */
  reset(node: string): void {
    this.#sent.delete(node)
  }

  /** Brings one node in line; `held` are the ids it reported keeping a spec of. One pass per node at a time. */
  sync(node: string, held: readonly string[] = []): Promise<void> {
    const under = this.#running.get(node)
    if (under) return under
    const pass = this.#pass(node, held)
      .catch((err) => this.#log(`node ${node}: could not tell it what should exist: ${errorMessage(err)}`))
      .finally(() => this.#running.delete(node))
    this.#running.set(node, pass)
    return pass
  }

  async #pass(node: string, held: readonly string[]): Promise<void> {
    const api = this.#bus.node(node)
    const sent = this.#sent.get(node) ?? new Map<string, string>()
    this.#sent.set(node, sent)
    const rows = (await instancesOnNode(this.#db, node)).filter((r) => r.port !== null)
    const ids = new Set(rows.map((r) => r.id))
    const specs = await instanceSpecs(this.#db, rows)
    for (const row of rows) {
      const spec = specs.get(row.id)
      if (!spec) continue // its version or flavor is gone; a delete under way needs nothing from here
      const desired: DesiredInstance = { spec, running: shouldRun(row) }
      const text = JSON.stringify(desired)
      if (sent.get(row.id) === text) continue
      // Not awaited: the node takes an ensure only between two lifecycle changes of the instance
      // (a long prepare, a delete of a large volume), and the others must not wait for that one.
      this.#send(node, row.id, () => api.ensure(desired), () => sent.set(row.id, text))
    }
    for (const id of sent.keys()) if (!ids.has(id)) sent.delete(id)
    for (const id of held.filter((h) => !ids.has(h))) this.#send(node, id, () => api.forget(id), () => undefined)
  }

  /** One message per instance in flight; a failed one is sent again at the next pass. */
  #send(node: string, id: string, message: () => Promise<void>, taken: () => void): void {
    const key = `${node}/${id}`
    if (this.#inFlight.has(key)) return
    this.#inFlight.add(key)
    void message()
      .then(taken, (err) => this.#log(`node ${node}: instance ${id}: ${errorMessage(err)}`))
      .finally(() => this.#inFlight.delete(key))
  }
}
