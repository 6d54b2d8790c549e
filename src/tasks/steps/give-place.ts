/**
 * Where on its node an instance listens. A node with an address pool gives each instance its own
 * address, the engine on its standard port; one without gives each its own port on the node's
 * address. Either way a place is handed out only when no instance of this home has it and the node
 * finds nothing using it, and is recorded on the instance's row before anything else may take it.
 */
import { CofferError } from '../../core/errors.js'
import { poolAddresses } from '../../core/address-pool.js'
import type { Bus } from '../../bus/bus.js'
import * as instances from '../../store/repos/instances.js'
import type { NodeInfo } from '../../store/repos/nodes.js'
import type { Db } from '../../store/schema.js'
import { takePortAfterPlace } from './port-fault.js'

export interface Placement {
  readonly node: string
  /** The instance's own address, or its node's first address when the node has no pool. */
  readonly address: string
  readonly port: number
}

/**
 * Pool addresses found in use on the node, in a row, before a place gives up: past them the pool is
 * taken by something this home does not know of (another home on the same pool, a wildcard listener).
 */
const BUSY_IN_A_ROW = 256

/** Records a free place of `node` on instance `id`: an address of its pool on `port`, or a port of its range. */
export async function givePlace(db: Db, bus: Bus, id: string, node: NodeInfo, port: number): Promise<Placement> {
  return node.pool ? giveAddress(db, bus, id, node, port) : givePort(db, bus, id, node)
}

async function giveAddress(db: Db, bus: Bus, id: string, node: NodeInfo, port: number): Promise<Placement> {
  const pool = node.pool as NonNullable<NodeInfo['pool']>
  // The instance's own address is among them: a move never lands where it came from.
  const used = await instances.usedAddresses(db, node.name)
  let busy = 0
  for (const address of poolAddresses(pool)) {
    if (used.has(address)) continue
    if (!(await bus.node(node.name).addressIsFree(address, port))) {
      if (++busy >= BUSY_IN_A_ROW) break
      continue
    }
    busy = 0
    const placed = await record(db, id, { node: node.name, address, port })
    if (placed) return placed
    used.add(address)
  }
  throw new CofferError('INTERNAL', `no free address left in ${pool.cidr} on node ${node.name} for port ${port}`, { retryable: false })
}

/** The lowest port of the node's range that no instance has and the node finds free on its address. */
async function givePort(db: Db, bus: Bus, id: string, node: NodeInfo): Promise<Placement> {
  const address = node.addresses[0] ?? '127.0.0.1'
  const used = await instances.usedPorts(db, node.name)
  for (let port = node.ports.first; port <= node.ports.last; port++) {
    if (used.has(port) || !(await bus.node(node.name).addressIsFree(address, port))) continue
    const placed = await record(db, id, { node: node.name, address, port })
    if (placed) return placed
    used.add(port)
  }
  throw new CofferError('INTERNAL', `no free port left from ${node.ports.first} to ${node.ports.last}`, { retryable: false })
}

/** Writes the place on the row; undefined when another placement took it between our look and our write. */
async function record(db: Db, id: string, p: Placement): Promise<Placement | undefined> {
  try {
    await instances.updateInstance(db, id, p)
  } catch {
    return undefined
  }
  await takePortAfterPlace(id, p.address, p.port)
  return p
}
