import { CofferError, NotFound } from '../../core/errors.js'
import { type NodeView, pickNode, whyNoNode } from '../../scheduler/scheduler.js'
import { findVersionById } from '../../store/repos/datastores.js'
import { findFlavor } from '../../store/repos/flavors.js'
import { givesPublicAddresses, listNodes, type NodeInfo, placedRamByNode } from '../../store/repos/nodes.js'
import type { Db, InstanceRow } from '../../store/schema.js'

/**
 * The node a new instance goes to, as the scheduler picks it from the nodes table, and the
 * standard port of the instance's engine there (its manifest's default port).
 */
export async function chooseNode(db: Db, row: InstanceRow): Promise<{ node: NodeInfo; standardPort: number }> {
  const version = await findVersionById(db, row.datastore_version_id)
  const flavor = await findFlavor(db, row.flavor_id)
  if (!version || !flavor) throw new NotFound(`instance ${row.id} refers to a datastore version or flavor that no longer exists`)
  const ds = await db.selectFrom('datastores').select('name').where('id', '=', version.datastore_id).executeTakeFirstOrThrow()
  const nodes = await listNodes(db)
  const placed = await placedRamByNode(db)
  const views: NodeView[] = nodes.map((n) => ({
    name: n.name,
    state: n.state,
    ramMb: n.capacity.ramMb,
    serves: n.manifests.flatMap((m) => m.versions.map((v) => ({ datastore: m.name, version: v.name }))),
    placedRamMb: placed.get(n.name) ?? 0,
    publicAddresses: givesPublicAddresses(n),
  }))
  const req = { datastore: ds.name, version: version.name, ramMb: flavor.ram_mb, public: Number(row.is_public) === 1 }
  const pick = pickNode(views, req)
  // Retryable: a node may be starting again or freeing room.
  if (!pick) throw new CofferError('INTERNAL', `No node can take the instance now: ${whyNoNode(views, req)}.`)
  const node = nodes.find((n) => n.name === pick.name) as NodeInfo
  const manifest = node.manifests.find((m) => m.name === ds.name)
  return { node, standardPort: manifest?.defaultPort ?? 0 }
}
