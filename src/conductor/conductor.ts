/**
 * Takes heartbeats from nodes and keeps each instance's service status true. Heartbeats can arrive
 * out of order (a slow status check finishing after a newer one), so one older than the last taken
 * is dropped, as Trove's conductor does with `_message_too_old`.
 */
import type { Heartbeat } from '../guest/protocol.js'
import { advanceArchive } from '../store/repos/backups.js'
import { now } from '../store/repos/instances.js'
import type { Db } from '../store/schema.js'

export async function takeHeartbeat(db: Db, hb: Heartbeat): Promise<boolean> {
  const ts = now()
  const r = await db
    .updateTable('instances')
    .set({
      service_status: hb.serviceStatus,
      volume_used_bytes: hb.volumeUsedBytes,
      ...(hb.volumeType ? { volume_type: hb.volumeType } : {}),
      volume_free_bytes: hb.volumeFreeBytes ?? null,
      ...(hb.replication ? { replication: JSON.stringify({ ...hb.replication, observedAt: new Date(hb.observedAt).toISOString() }) } : {}),
      heartbeat_at: hb.observedAt, service_status_updated: ts, updated_at: ts })
    .where('id', '=', hb.instanceId)
    // While a task builds, restarts or deletes the instance, the task owns its status. A fault shown
    // does not stop the reports: the fault belongs to the operation that failed, and the engine's
    // health goes on being true (it is what a restart or detach that mends the fault starts from).
    // A backup runs beside the serving engine: its health goes on being reported.
    .where('task_status', 'in', ['NONE', 'BACKUP'])
    // A stopped instance is SHUTDOWN by its stop: a heartbeat observed before the stop and taken
    // after it must not make it look HEALTHY again (no later one would correct it).
    .where('stopped', '=', 0)
    .where((eb) => eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', hb.observedAt)]))
    .executeTakeFirst()
  if (hb.archivedThrough !== undefined) await advanceArchive(db, hb.instanceId, new Date(hb.archivedThrough).toISOString())
  return Number(r.numUpdatedRows) === 1
}
