/**
 * `POST /instances` with `replica_of` (and `replica_count`): as tempest sends it, flavor, volume and
 * datastore may be left out and default to the source's. The source must be ACTIVE, a source
 * itself (no replicas of replicas) and of a datastore with replication; a replica named with less
 * memory or a smaller volume than its source is refused, since it may have to take its place.
 */
import { BadRequest, NotFound, NotImplemented, Unprocessable } from '../core/errors.js'
import { isReady } from '../core/instance.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findFlavor } from '../store/repos/flavors.js'
import { findClientInstance } from '../store/repos/instances.js'
import type { Db, InstanceRow } from '../store/schema.js'
import { statusInputs } from './views/instance.js'

/** Most replicas one request makes (Trove's replica_count). */
export const MAX_REPLICA_COUNT = 5

export interface ReplicaRequest {
  readonly source: InstanceRow
  readonly count: number
  /** The body with the source's flavor, volume and datastore where it named none. */
  readonly body: unknown
}

/** undefined when the body asks for no replica; throws the request's 4xx otherwise, before anything is made. */
export async function replicaRequest(db: Db, scope: string | undefined, body: unknown): Promise<ReplicaRequest | undefined> {
  const inst = (body as { instance?: Record<string, unknown> } | null)?.instance
  const sourceId = inst?.replica_of ?? inst?.slave_of
  if (sourceId === undefined || sourceId === null) return undefined
  if (typeof sourceId !== 'string') throw new BadRequest("Validation error: instance['replica_of'] must be the id of the instance to replicate.")
  const count = inst?.replica_count === undefined ? 1 : Number(inst.replica_count)
  if (!Number.isInteger(count) || count < 1 || count > MAX_REPLICA_COUNT) throw new BadRequest(`replica_count must be a whole number from 1 to ${MAX_REPLICA_COUNT}.`)
  const source = await findClientInstance(db, sourceId, scope)
  if (!source) throw new NotFound(`Resource ${sourceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
  if (source.replica_of) throw new BadRequest(`Instance ${source.id} is itself a replica (of ${source.replica_of}); make replicas of the source.`)
  const version = await findVersionById(db, source.datastore_version_id)
  if (!version || !manifestOf(version).capabilities.replication) throw new NotImplemented(`The datastore of instance ${source.id} has no replication.`)
  if (!isReady(statusInputs(source))) throw new Unprocessable(`Instance ${source.id} is not ready to be replicated; make replicas once it is ACTIVE.`)
  if ((Array.isArray(inst?.databases) && inst.databases.length > 0) || (Array.isArray(inst?.users) && inst.users.length > 0)) {
    throw new BadRequest('A replica gets the databases and users of its source; leave out databases and users.')
  }
  await refuseSmallerThanSource(db, source, inst?.flavorRef, inst?.volume)
  const ds = await db.selectFrom('datastores').select('name').where('id', '=', version.datastore_id).executeTakeFirstOrThrow()
  const filled = {
    ...inst,
    flavorRef: inst?.flavorRef ?? source.flavor_id,
    volume: inst?.volume ?? { size: source.volume_size },
    datastore: inst?.datastore ?? { type: ds.name, version: version.name },
    replica_of: source.id,
  }
  delete (filled as Record<string, unknown>).slave_of
  delete (filled as Record<string, unknown>).replica_count
  return { source, count, body: { instance: filled } }
}

/**
 * A replica may become the source (promote, eject, failover): it needs the source's memory and
 * room for all of its data. Refs the create cannot resolve are left to its own checks.
 */
async function refuseSmallerThanSource(db: Db, source: InstanceRow, flavorRef: unknown, volume: unknown): Promise<void> {
  if (flavorRef !== undefined && flavorRef !== null && String(flavorRef) !== source.flavor_id) {
    const [asked, own] = await Promise.all([findFlavor(db, String(flavorRef)), findFlavor(db, source.flavor_id)])
    if (asked && own && asked.ram_mb < own.ram_mb) {
      throw new BadRequest(
        `Flavor ${asked.id} (${asked.ram_mb} MB RAM) has less memory than flavor ${own.id} (${own.ram_mb} MB RAM) of the source ${source.id}, whose place a replica may take: ` +
          `ask for flavor ${own.id} or a larger one, or leave out flavorRef to get the source's.`,
      )
    }
  }
  const size = Number((volume as { size?: unknown } | null | undefined)?.size)
  if (Number.isInteger(size) && size > 0 && size < source.volume_size) {
    throw new BadRequest(
      `A replica's volume of ${size} GB is smaller than the ${source.volume_size} GB volume of its source ${source.id}, all of whose data it holds: ` +
        `ask for at least ${source.volume_size} GB, or leave out volume to get the source's.`,
    )
  }
}
