/**
 * Steps of a replica set's writer address: given when the set forms (an address of the source's
 * node's pool on the engine's standard port, or, without a pool, the node's address and a port of
 * its range), served by HAProxy on the node of the set's current source, pointed at the new source
 * after a promote or an eject (only once the old one is fenced), and freed with the source.
 */
import type { Bus } from '../../bus/bus.js'
import { poolAddresses } from '../../core/address-pool.js'
import { CofferError } from '../../core/errors.js'
import * as instances from '../../store/repos/instances.js'
import { listNodes, type NodeInfo } from '../../store/repos/nodes.js'
import type { WriterChange } from '../../guest/protocol.js'
import type { Db, InstanceRow } from '../../store/schema.js'
import { requireInstance } from './instance-spec.js'

export interface WriterStepDeps {
  readonly db: Db
  readonly bus: Bus
  readonly log: (msg: string) => void
}

type Writer = { readonly address: string; readonly port: number }

const writerOf = (r: Pick<InstanceRow, 'writer_address' | 'writer_port'>): Writer | undefined =>
  r.writer_address && r.writer_port ? { address: r.writer_address, port: Number(r.writer_port) } : undefined

export function writerSteps(d: WriterStepDeps) {
  const { db, bus } = d
  const nodeOf = async (name: string | null): Promise<NodeInfo> => {
    const node = (await listNodes(db)).find((n) => n.name === name)
    if (!node) throw new CofferError('INTERNAL', `node ${name ?? '(none)'} is not registered`, { retryable: true })
    return node
  }
  /** Where the source's engine listens, as HAProxy reaches it. */
  const targetOf = (row: InstanceRow, node: NodeInfo) => ({ host: row.address ?? node.addresses[0] ?? '127.0.0.1', port: Number(row.port) })

  /**
   * Records `w` on the source's row unless it has one already (replicas made at once form the set
   * together): resolves with the row's writer then, or undefined when another set took `w` first.
   */
  const record = async (sourceId: string, w: Writer): Promise<Writer | undefined> => {
    try {
      const r = await db.updateTable('instances').set({ writer_address: w.address, writer_port: w.port }).where('id', '=', sourceId).where('writer_address', 'is', null).executeTakeFirst()
      if (Number(r.numUpdatedRows) === 1) return w
      return writerOf(await requireInstance(db, sourceId))
    } catch {
      return undefined
    }
  }

  /** A free writer address for a source on `node`, recorded on its row. */
  const give = async (row: InstanceRow, node: NodeInfo): Promise<Writer> => {
    const api = bus.node(node.name)
    if (node.pool) {
      const port = Number(row.port)
      const used = await instances.usedAddresses(db, node.name)
      for (const address of poolAddresses(node.pool)) {
        if (used.has(address) || !(await api.addressIsFree(address, port))) continue
        const given = await record(row.id, { address, port })
        if (given) return given
      }
      throw new CofferError('INTERNAL', `no free address left in ${node.pool.cidr} on node ${node.name} for the writer address of ${row.id}`, { retryable: false })
    }
    const address = node.addresses[0] ?? '127.0.0.1'
    const used = await instances.usedPorts(db, node.name)
    for (let port = node.ports.first; port <= node.ports.last; port++) {
      if (used.has(port) || !(await api.addressIsFree(address, port))) continue
      const given = await record(row.id, { address, port })
      if (given) return given
    }
    throw new CofferError('INTERNAL', `no free port left from ${node.ports.first} to ${node.ports.last} on node ${node.name} for the writer address of ${row.id}`, { retryable: false })
  }

  /** Points the writer at `row`'s engine on its node. */
  const serve = async (row: InstanceRow, w: Writer): Promise<WriterChange> => {
    const node = await nodeOf(row.node)
    return bus.node(node.name).setWriter({ ...w, target: targetOf(row, node) })
  }

  return {
    /** The set formed (its first replica was made): the source gets a writer address, served on its node. */
    async form(sourceId: string): Promise<void> {
      const row = await requireInstance(db, sourceId)
      const w = writerOf(row) ?? (await give(row, await nodeOf(row.node)))
      await serve(row, w)
    },

    /**
     * The writer now reaches `toId`, the set's new source (promoted; the old one, `fromId`, fenced
     * before). The frontend moves with the source when it is on another node. The address stays on
     * the old source's row until the set is recorded (recordSet moves it); a set made before writer
     * addresses gets one now.
     */
    async switchTo(fromId: string, toId: string): Promise<void> {
      const to = await requireInstance(db, toId)
      const from = await instances.findInstance(db, fromId)
      const w = writerOf(to) ?? (from && writerOf(from))
      if (!w) return this.form(toId)
      if (from?.node && from.node !== to.node) {
        // One address served from one node at a time: the old node lets go first (a dead one cannot hold it).
        await bus
          .node(from.node)
          .removeWriter(w.address, w.port)
          .catch((err: Error) => d.log(`writer ${w.address}:${w.port}: node ${from.node} could not let it go (${err.message}); serving it from ${to.node} anyway`))
      }
      const { changed, ms } = await serve(to, w)
      if (changed) d.log(`writer ${w.address}:${w.port}: now reaches ${toId} (HAProxy switched in ${ms} ms)`)
    },

    /** The source is being deleted: its node stops serving the writer address, which is freed with the row. */
    async remove(id: string): Promise<void> {
      const row = await instances.findInstance(db, id)
      const w = row && writerOf(row)
      if (!row || !w) return
      if (row.node) await bus.node(row.node).removeWriter(w.address, w.port)
      await instances.updateInstance(db, id, { writer_address: null, writer_port: null })
    },
  }
}

export type WriterSteps = ReturnType<typeof writerSteps>
