import { NotFound } from '../../core/errors.js'
import { isDeleting } from '../../core/instance.js'
import type { InstanceSpec } from '../../guest/protocol.js'
import { findVersionById } from '../../store/repos/datastores.js'
import { findFlavor } from '../../store/repos/flavors.js'
import { findInstance } from '../../store/repos/instances.js'
import type { Db, InstanceRow } from '../../store/schema.js'

/** What a node needs to act on an instance, read fresh from the state store. */
export async function instanceSpec(db: Db, row: InstanceRow): Promise<InstanceSpec> {
  const version = await findVersionById(db, row.datastore_version_id)
  // A spare is retired when its flavor is deleted; stopping its engine needs no flavor.
  const flavor = (await findFlavor(db, row.flavor_id)) ?? (isDeleting({ taskStatus: row.task_status }) ? { ram_mb: 0, vcpus: 0 } : undefined)
  if (!version || !flavor) throw new NotFound(`instance ${row.id} refers to a datastore version or flavor that no longer exists`)
  const ds = await db.selectFrom('datastores').select('name').where('id', '=', version.datastore_id).executeTakeFirstOrThrow()
  if (row.port === null) throw new Error(`instance ${row.id} has no port yet`)
  const cidrs = row.allowed_cidrs ? (JSON.parse(row.allowed_cidrs) as string[]) : undefined
  return { instanceId: row.id, datastore: ds.name, version: version.name, port: Number(row.port), flavor: { ramMb: flavor.ram_mb, vcpus: flavor.vcpus }, ...(cidrs ? { allowedCidrs: cidrs } : {}) }
}

export async function requireInstance(db: Db, id: string): Promise<InstanceRow> {
  const row = await findInstance(db, id)
  if (!row) throw new NotFound(`Instance ${id} no longer exists.`)
  return row
}
