import { newId } from '../../identity/ids.js'
import type { Db } from '../schema.js'
import { now } from './instances.js'

export type EventKind = 'promote' | 'eject' | 'detach' | 'failover' | 'failover-refused'

export interface InstanceEvent {
  readonly at: string
  readonly kind: EventKind
  readonly message: string
}

/** Records one event on each of `instanceIds` (an id whose row is gone is skipped). */
export async function recordEvents(db: Db, instanceIds: readonly string[], kind: EventKind, message: (instanceId: string) => string): Promise<void> {
  if (instanceIds.length === 0) return
  const rows = await db.selectFrom('instances').select(['id', 'project_id']).where('id', 'in', [...instanceIds]).execute()
  const at = now()
  for (const r of rows) await db.insertInto('instance_events').values({ id: newId(), instance_id: r.id, project_id: r.project_id, at, kind, message: message(r.id) }).execute()
}

/** The instance's events, newest first. */
export async function listEvents(db: Db, instanceId: string, limit = 100): Promise<InstanceEvent[]> {
  const rows = await db.selectFrom('instance_events').select(['at', 'kind', 'message']).where('instance_id', '=', instanceId).orderBy('at', 'desc').orderBy('id').limit(limit).execute()
  return rows.map((r) => ({ at: r.at, kind: r.kind as EventKind, message: r.message }))
}
