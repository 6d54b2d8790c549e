import type { Db, InstanceRow, InstanceUpdate, NewInstanceRow } from '../schema.js'
import { transition } from './transition.js'

export const now = (): string => new Date().toISOString()

export async function insertInstance(db: Db, row: NewInstanceRow): Promise<void> {
  await db.insertInto('instances').values(row).execute()
}

/** The reserved owner of spares (repos/spares.ts): no real project id looks like it. */
export const SPARE_PROJECT = 'coffer-spares'

export async function findInstance(db: Db, id: string, projectId?: string): Promise<InstanceRow | undefined> {
  let q = db.selectFrom('instances').selectAll().where('id', '=', id)
  if (projectId !== undefined) q = q.where('project_id', '=', projectId)
  return q.executeTakeFirst()
}

/**
 * An instance as a caller of the API may name it: in `projectId`, or in any project when that is
 * undefined (the cloud admin); spares belong to no project and are never found this way.
 */
export async function findClientInstance(db: Db, id: string, projectId: string | undefined): Promise<InstanceRow | undefined> {
  const row = await findInstance(db, id, projectId)
  return row && row.project_id !== SPARE_PROJECT ? row : undefined
}

export interface Page {
  readonly limit: number
  readonly marker?: string
}

/** Oldest first, as Trove pages: `marker` is the id of the last instance of the previous page. */
export async function listInstances(db: Db, projectId: string, page: Page): Promise<InstanceRow[]> {
  let q = db.selectFrom('instances').selectAll().where('project_id', '=', projectId)
  if (page.marker) {
    const m = await findInstance(db, page.marker, projectId)
    if (m) q = q.where((eb) => eb.or([eb('created_at', '>', m.created_at), eb.and([eb('created_at', '=', m.created_at), eb('id', '>', m.id)])]))
  }
  return q.orderBy('created_at').orderBy('id').limit(page.limit).execute()
}

export async function instancesOnNode(db: Db, node: string): Promise<InstanceRow[]> {
  return db.selectFrom('instances').selectAll().where('node', '=', node).execute()
}

export async function countInstances(db: Db, projectId: string): Promise<number> {
  const r = await db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()
  return Number(r.n)
}

/** Columns that change only through transition.ts. */
type StatusColumn = 'task_status' | 'service_status' | 'pending_restart' | `fault_${string}`

/** Writes columns other than the status ones (name, group, placement); those go through transition(). */
export async function updateInstance(db: Db, id: string, patch: Omit<InstanceUpdate, StatusColumn>): Promise<void> {
  await db.updateTable('instances').set({ ...patch, updated_at: now() }).where('id', '=', id).execute()
}

export async function deleteInstanceRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('instances').where('id', '=', id).execute()
  await db.deleteFrom('instance_events').where('instance_id', '=', id).execute()
}

/** The ports of `node` given to instances, and to writer addresses of sets whose source is there. */
export async function usedPorts(db: Db, node: string): Promise<Set<number>> {
  const rows = await db.selectFrom('instances').select(['port', 'writer_port']).where('node', '=', node).execute()
  return new Set(rows.flatMap((r) => [r.port, r.writer_port].filter((p) => p !== null).map(Number)))
}

/**
 * The addresses given to instances on `node`, and every address outside loopback given on any
 * node (an address on a real interface is one on the network, whichever node holds it).
 */
export async function usedAddresses(db: Db, node: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('instances')
    .select('address')
    .where('address', 'is not', null)
    .where((eb) => eb.or([eb('node', '=', node), eb('address', 'not like', '127.%')]))
    .execute()
  // Writer addresses of replica sets are pool addresses too.
  const writers = await db
    .selectFrom('instances')
    .select('writer_address')
    .where('writer_address', 'is not', null)
    .where((eb) => eb.or([eb('node', '=', node), eb('writer_address', 'not like', '127.%')]))
    .execute()
  return new Set([...rows.map((r) => r.address ?? ''), ...writers.map((r) => r.writer_address ?? '')])
}

/**
 * Trove's `reset_status`, the cloud admin's way out of a stuck state: no task, no fault, and a
 * service status of SHUTDOWN until the next heartbeat tells the truth (ACTIVE when the engine
 * answers). A delete under way stays under way. Tasks still open are left to finish or fail.
 * Resolves false when there was nothing to reset (the instance is gone or being deleted).
 */
export function resetStatus(db: Db, id: string): Promise<boolean> {
  return transition(db, id, ['NONE', 'BUILDING', 'REBOOTING', 'RESIZING', 'STOPPING', 'STARTING', 'BACKUP', 'PROMOTING', 'EJECTING', 'DETACHING'], 'NONE', { clearFault: 'any', serviceStatus: 'SHUTDOWN' })
}

/** A new instance row in BUILD, not placed yet: the fields a create decides, defaults for the rest. */
export function newInstanceRow(
  f: Pick<InstanceRow, 'id' | 'project_id' | 'name' | 'flavor_id' | 'volume_size' | 'datastore_version_id' | 'configuration_id'>,
): InstanceRow {
  const ts = now()
  return {
    ...f,
    node: null,
    address: null,
    port: null,
    task_status: 'BUILDING',
    service_status: 'NEW',
    fault_message: null,
    fault_details: null,
    fault_created: null,
    fault_operation: null,
    fault_task_id: null,
    volume_used_bytes: null,
    volume_type: null,
    volume_free_bytes: null,
    heartbeat_at: null,
    created_at: ts,
    updated_at: ts,
    service_status_updated: ts,
    root_enabled_at: null,
    root_enabled_by: null,
    pending_restart: 0,
    built_by: null,
    stopped: 0,
    allowed_cidrs: null,
    is_public: 0,
    replica_of: null,
    replication: null,
    writer_address: null,
    writer_port: null,
    auto_failover: 0,
    sync_replication: 0,
  }
}
