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
  const replicas = row.replica_of ? [] : await db.selectFrom('instances').select('id').where('replica_of', '=', row.id).limit(1).execute()
  return specOf(row, version.name, ds.name, flavor, row.replica_of !== null || replicas.length > 0)
}

/** The one place a spec is put together, so a field added to it reaches every node message. */
function specOf(row: InstanceRow, version: string, datastore: string, flavor: { readonly ram_mb: number; readonly vcpus: number }, replicaSet: boolean): InstanceSpec {
  const cidrs = row.allowed_cidrs ? (JSON.parse(row.allowed_cidrs) as string[]) : undefined
  return {
    instanceId: row.id,
    datastore,
    version,
    ...(row.address ? { address: row.address } : {}),
    port: Number(row.port),
    flavor: { ramMb: flavor.ram_mb, vcpus: flavor.vcpus },
    volumeGb: Number(row.volume_size),
    ...(cidrs ? { allowedCidrs: cidrs } : {}),
    ...(replicaSet ? { replicaSet: true } : {}),
    ...(replicaSet && Number(row.auto_failover) === 1 && !row.replica_of ? { failoverWatched: true } : {}),
  }
}

/**
 * `instanceSpec` of many rows in three queries, for a node sync that runs every heartbeat: one
 * query per instance there was most of an idle server's state store work. A row whose version or
 * flavor is gone, or that has no port yet, gets no spec.
 */
export async function instanceSpecs(db: Db, rows: readonly InstanceRow[]): Promise<Map<string, InstanceSpec>> {
  const [versions, flavors, stores, sources] = await Promise.all([
    db.selectFrom('datastore_versions').select(['id', 'name', 'datastore_id']).execute(),
    db.selectFrom('flavors').select(['id', 'ram_mb', 'vcpus']).execute(),
    db.selectFrom('datastores').select(['id', 'name']).execute(),
    db.selectFrom('instances').select('replica_of').where('replica_of', 'is not', null).execute(),
  ])
  const hasReplicas = new Set(sources.map((s) => s.replica_of))
  const specs = new Map<string, InstanceSpec>()
  for (const row of rows) {
    const version = versions.find((v) => v.id === row.datastore_version_id)
    const flavor = flavors.find((f) => f.id === row.flavor_id) ?? (isDeleting({ taskStatus: row.task_status }) ? { ram_mb: 0, vcpus: 0 } : undefined)
    const ds = stores.find((d) => d.id === version?.datastore_id)
    if (!version || !flavor || !ds || row.port === null) continue
    specs.set(row.id, specOf(row, version.name, ds.name, flavor, row.replica_of !== null || hasReplicas.has(row.id)))
  }
  return specs
}

export async function requireInstance(db: Db, id: string): Promise<InstanceRow> {
  const row = await findInstance(db, id)
  if (!row) throw new NotFound(`Instance ${id} no longer exists.`)
  return row
}
