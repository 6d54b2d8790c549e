/**
 * A create's `restorePoint`, checked before anything is made: Trove's `{backupRef}` (a full or
 * incremental backup: its chain is applied), and Coffer's point in time (as RDS's
 * RestoreDBInstanceToPointInTime): `{backupRef, restoreTime}` or `{instanceRef, restoreTime}`, the
 * instance possibly deleted since. A time outside the restorable window is a 400 naming the window.
 */
import { z } from 'zod'
import { BadRequest, Conflict, NotFound } from '../core/errors.js'
import * as backups from '../store/repos/backups.js'
import type { BackupRow, Db } from '../store/schema.js'
import type { RestoreInput } from '../tasks/create-instance.js'

export const RestorePointBody = z.object(
  { backupRef: z.string().optional(), instanceRef: z.string().optional(), restoreTime: z.string().optional() },
  { error: 'must be an object: {"backupRef": ID} or {"instanceRef": ID, "restoreTime": ISO-8601}' },
)

export interface ResolvedRestore {
  readonly input: RestoreInput
  /** The datastore version the backup is of: the new instance's. */
  readonly versionId: string
  /** Bytes of data the restore lays down: the volume must hold them. */
  readonly dataBytes: number
}

/** The restorable window of an instance's archive: its first backup's point to its last archived change. */
export async function restorableWindow(db: Db, instanceId: string): Promise<{ earliest: string; latest: string } | undefined> {
  const archive = await backups.findArchive(db, instanceId)
  const first = (await backups.completedBackupsOf(db, instanceId))[0]
  if (!archive || !first?.taken_at) return undefined
  const latest = archive.latest_at && archive.latest_at > first.taken_at ? archive.latest_at : first.taken_at
  return { earliest: first.taken_at, latest }
}

export async function resolveRestorePoint(db: Db, projectId: string | undefined, rp: z.infer<typeof RestorePointBody>): Promise<ResolvedRestore> {
  if ((rp.backupRef === undefined) === (rp.instanceRef === undefined)) {
    throw new BadRequest('restorePoint names either a backup ({"backupRef": ID}) or an instance and a time ({"instanceRef": ID, "restoreTime": "2026-11-29T10:00:00Z"}).')
  }
  if (rp.instanceRef !== undefined && rp.restoreTime === undefined) throw new BadRequest('restorePoint with instanceRef needs restoreTime (ISO-8601, e.g. "2026-11-29T10:00:00Z").')
  const time = rp.restoreTime === undefined ? undefined : parseTime(rp.restoreTime)

  if (rp.backupRef !== undefined) {
    const b = await backups.findBackup(db, rp.backupRef, projectId)
    if (!b) throw new NotFound(`Backup ${rp.backupRef} cannot be found.`)
    if (b.status !== 'COMPLETED') throw new Conflict(`Backup ${b.id} is ${b.status}; only a COMPLETED backup can be restored.`)
    if (time) await checkWindow(db, b.instance_id, time, b.taken_at ?? undefined)
    return { input: { backupId: b.id, ...(time ? { restoreTime: time } : {}) }, versionId: b.datastore_version_id, dataBytes: await chainBytes(db, b) }
  }
  const instanceId = rp.instanceRef!
  const own = await backups.listBackups(db, { projectId, instanceId }, { limit: 1 })
  const archive = await backups.findArchive(db, instanceId)
  if (own.length === 0 || !archive || (projectId !== undefined && archive.project_id !== projectId)) {
    throw new NotFound(`Instance ${instanceId} has no backups and archive to restore to a point in time from.`)
  }
  await checkWindow(db, instanceId, time!)
  const base = (await backups.completedBackupsOf(db, instanceId)).filter((b) => b.taken_at && b.taken_at <= time!).at(-1)!
  return { input: { archiveOf: instanceId, restoreTime: time! }, versionId: base.datastore_version_id, dataBytes: await chainBytes(db, base) }
}

function parseTime(text: string): string {
  const ms = Date.parse(text)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) || Number.isNaN(ms)) throw new BadRequest(`restoreTime must be an ISO-8601 time such as "2026-11-29T10:00:00Z", not '${text.slice(0, 40)}'.`)
  return new Date(ms).toISOString()
}

async function checkWindow(db: Db, instanceId: string, time: string, notBefore?: string): Promise<void> {
  const w = await restorableWindow(db, instanceId)
  if (!w) throw new BadRequest(`Instance ${instanceId} cannot be restored to a point in time: its datastore keeps no archive, or it has no completed backup yet.`)
  const earliest = notBefore && notBefore > w.earliest ? notBefore : w.earliest
  if (time < earliest || time > w.latest) {
    throw new BadRequest(`restoreTime ${time} is outside the restorable window of instance ${instanceId}: ${earliest} to ${w.latest}.`)
  }
}

/** The most data any backup of the chain holds: what the new volume must take. */
async function chainBytes(db: Db, tip: BackupRow): Promise<number> {
  return Math.max(0, ...(await backups.chainOf(db, tip)).map((b) => Number(b.data_bytes ?? 0)))
}
