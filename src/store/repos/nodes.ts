/** The nodes table: what each node announced, when it was last heard, and its state. */
import type { DatastoreManifest } from '../../core/manifest.js'
import { type NodeState, silenceForDown } from '../../core/node.js'
import type { Db, NodeRow } from '../schema.js'

/** What a node tells about itself when it registers (the fields of guest/protocol's NodeAnnouncement). */
export interface NodeRegistration {
  readonly name: string
  readonly addresses: readonly string[]
  readonly ports: { readonly first: number; readonly last: number }
  /** The pool its instances get their own address from; absent: they share `addresses[0]`, a port each. */
  readonly pool?: { readonly cidr: string; readonly prefix: number; readonly interface?: string }
  readonly capacity: { readonly ramMb: number; readonly vcpus: number; readonly diskGb: number }
  readonly manifests: readonly DatastoreManifest[]
  readonly heartbeatMs: number
  /** What it enforces of flavors and volume sizes (compute's NodeLimits). */
  readonly limits?: { readonly memory: string; readonly cpu: string; readonly volume: string } | undefined
}

export interface NodeInfo extends NodeRegistration {
  readonly state: NodeState
  readonly lastHeartbeat: number
}

/** The node's pool is on a real interface: what it hands out, other machines can reach (Trove's is_public). */
export const givesPublicAddresses = (n: Pick<NodeInfo, 'pool'>): boolean => Boolean(n.pool?.interface)

const infoOf = (r: NodeRow): NodeInfo => ({
  name: r.name,
  addresses: JSON.parse(r.addresses) as string[],
  ports: { first: Number(r.port_first), last: Number(r.port_last) },
  ...(r.pool_cidr ? { pool: { cidr: r.pool_cidr, prefix: Number(r.pool_cidr.split('/')[1]), ...(r.pool_interface ? { interface: r.pool_interface } : {}) } } : {}),
  capacity: { ramMb: Number(r.ram_mb), vcpus: Number(r.vcpus), diskGb: Number(r.disk_gb) },
  manifests: JSON.parse(r.manifests) as DatastoreManifest[],
  heartbeatMs: Number(r.heartbeat_ms),
  state: r.state as NodeState,
  lastHeartbeat: Number(r.last_heartbeat),
  limits: r.limits ? (JSON.parse(r.limits) as NodeRegistration['limits']) : undefined,
})

/** Records a registration: a new node, or one that started again (its announcement replaces the old). A DRAINING node stays so. */
export async function recordNode(db: Db, n: NodeRegistration, at = Date.now()): Promise<void> {
  const values = {
    addresses: JSON.stringify(n.addresses),
    port_first: n.ports.first,
    port_last: n.ports.last,
    pool_cidr: n.pool?.cidr ?? null,
    pool_interface: n.pool?.interface ?? null,
    ram_mb: n.capacity.ramMb,
    vcpus: n.capacity.vcpus,
    disk_gb: n.capacity.diskGb,
    manifests: JSON.stringify(n.manifests),
    heartbeat_ms: n.heartbeatMs,
    last_heartbeat: at,
    limits: n.limits ? JSON.stringify(n.limits) : null,
  }
  await db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('nodes').select('state').where('name', '=', n.name).executeTakeFirst()
    if (found) {
      await trx.updateTable('nodes').set({ ...values, state: found.state === 'DRAINING' ? 'DRAINING' : 'UP' }).where('name', '=', n.name).execute()
    } else {
      await trx.insertInto('nodes').values({ name: n.name, ...values, state: 'UP', registered_at: new Date(at).toISOString() }).execute()
    }
  })
}

/** A node's heartbeat. Resolves true when it brought a DOWN node back UP; false for a node never registered too. */
export async function touchNode(db: Db, name: string, at: number): Promise<{ known: boolean; cameBack: boolean }> {
  const found = await db.selectFrom('nodes').select('state').where('name', '=', name).executeTakeFirst()
  if (!found) return { known: false, cameBack: false }
  const cameBack = found.state === 'DOWN'
  await db.updateTable('nodes').set({ last_heartbeat: at, ...(cameBack ? { state: 'UP' } : {}) }).where('name', '=', name).where('last_heartbeat', '<', at).execute()
  return { known: true, cameBack }
}

/** Marks DOWN the UP or DRAINING nodes that missed several heartbeats; resolves with their names. */
export async function markSilentNodesDown(db: Db, at = Date.now()): Promise<string[]> {
  const rows = await db.selectFrom('nodes').select(['name', 'last_heartbeat', 'heartbeat_ms']).where('state', '!=', 'DOWN').execute()
  const silent = rows.filter((r) => Number(r.last_heartbeat) + silenceForDown(Number(r.heartbeat_ms)) < at).map((r) => r.name)
  if (silent.length > 0) await db.updateTable('nodes').set({ state: 'DOWN' }).where('name', 'in', silent).execute()
  return silent
}

export async function listNodes(db: Db): Promise<NodeInfo[]> {
  return (await db.selectFrom('nodes').selectAll().orderBy('name').execute()).map(infoOf)
}

/** RAM of the flavors of the instances placed on each node (spares included), by node name. */
export async function placedRamByNode(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('instances')
    .leftJoin('flavors', 'flavors.id', 'instances.flavor_id')
    .select(['instances.node as node', (eb) => eb.fn.sum<number>('flavors.ram_mb').as('ram')])
    .where('instances.node', 'is not', null)
    .groupBy('instances.node')
    .execute()
  return new Map(rows.map((r) => [r.node ?? '', Number(r.ram ?? 0)]))
}
