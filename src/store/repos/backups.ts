import type { BackupArchiveRow, BackupRow, BackupStatus, BackupTable, Db } from '../schema.js'
import { now, type Page } from './instances.js'

/** Backups still running: an instance has at most one, and it shows BACKUP meanwhile. */
export const RUNNING_BACKUP: readonly BackupStatus[] = ['NEW', 'BUILDING', 'SAVING']

export async function insertBackup(db: Db, row: Omit<BackupTable, 'created_at' | 'updated_at'>): Promise<void> {
  const ts = now()
  await db.insertInto('backups').values({ ...row, created_at: ts, updated_at: ts }).execute()
}

/** A backup by id, in `projectId` (any project when undefined: the cloud admin). */
export async function findBackup(db: Db, id: string, projectId?: string): Promise<BackupRow | undefined> {
  let q = db.selectFrom('backups').selectAll().where('id', '=', id)
  if (projectId !== undefined) q = q.where('project_id', '=', projectId)
  return q.executeTakeFirst()
}

/** Newest first, as Trove lists backups; `marker` is the id of the last backup of the previous page. */
export async function listBackups(db: Db, filter: { projectId?: string | undefined; instanceId?: string | undefined }, page: Page): Promise<BackupRow[]> {
  let q = db.selectFrom('backups').selectAll()
  if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId)
  if (filter.instanceId !== undefined) q = q.where('instance_id', '=', filter.instanceId)
  if (page.marker) {
    const m = await findBackup(db, page.marker, filter.projectId)
    if (m) q = q.where((eb) => eb.or([eb('created_at', '<', m.created_at), eb.and([eb('created_at', '=', m.created_at), eb('id', '<', m.id)])]))
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute()
}

export async function updateBackup(db: Db, id: string, patch: Partial<Omit<BackupTable, 'id' | 'created_at'>>): Promise<void> {
  await db.updateTable('backups').set({ ...patch, updated_at: now() }).where('id', '=', id).execute()
}

/** Moves a backup from one of `from` to `to`; false when it was not in one of them (compare-and-set). */
export async function setBackupStatus(db: Db, id: string, from: readonly BackupStatus[], to: BackupStatus, patch: Partial<Omit<BackupTable, 'id' | 'status'>> = {}): Promise<boolean> {
  const r = await db.updateTable('backups').set({ ...patch, status: to, updated_at: now() }).where('id', '=', id).where('status', 'in', from).executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

export async function deleteBackupRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('backups').where('id', '=', id).execute()
}

/** Backups incremental to this one. */
export async function childrenOf(db: Db, id: string): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().where('parent_id', '=', id).execute()
}

/** The instance's newest completed backup: an incremental without a named parent chains from it. */
export async function latestCompleted(db: Db, instanceId: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('instance_id', '=', instanceId).where('status', '=', 'COMPLETED').orderBy('taken_at', 'desc').orderBy('created_at', 'desc').limit(1).executeTakeFirst()
}

export async function runningBackupOf(db: Db, instanceId: string): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('instance_id', '=', instanceId).where('status', 'in', RUNNING_BACKUP).executeTakeFirst()
}

/** Completed backups of an instance, oldest first. */
export async function completedBackupsOf(db: Db, instanceId: string): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().where('instance_id', '=', instanceId).where('status', '=', 'COMPLETED').orderBy('taken_at').execute()
}

/** The chain a restore of `tip` applies: its full backup first, `tip` last. Throws on a broken link. */
export async function chainOf(db: Db, tip: BackupRow): Promise<BackupRow[]> {
  const chain = [tip]
  for (let b = tip; b.parent_id; ) {
    const parent = await findBackup(db, b.parent_id)
    if (!parent) throw new Error(`backup ${b.id}'s parent ${b.parent_id} is gone`)
    if (chain.length > 1000) throw new Error(`backup ${tip.id}'s chain loops`)
    chain.unshift(parent)
    b = parent
  }
  return chain
}

export async function countBackups(db: Db, projectId: string): Promise<number> {
  const r = await db.selectFrom('backups').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()
  return Number(r.n)
}

export async function findArchive(db: Db, instanceId: string): Promise<BackupArchiveRow | undefined> {
  return db.selectFrom('backup_archives').selectAll().where('instance_id', '=', instanceId).executeTakeFirst()
}

/** Records the archive (once: a second call keeps the first key). */
export async function insertArchive(db: Db, row: Omit<BackupArchiveRow, 'created_at' | 'latest_at'>): Promise<void> {
  await db.insertInto('backup_archives').values({ ...row, latest_at: null, created_at: now() }).onConflict((oc) => oc.column('instance_id').doNothing()).execute()
}

/** Moves the archive's end forward (never back: a late report of an older ship is dropped). */
export async function advanceArchive(db: Db, instanceId: string, latestAt: string): Promise<void> {
  await db
    .updateTable('backup_archives')
    .set({ latest_at: latestAt })
    .where('instance_id', '=', instanceId)
    .where((eb) => eb.or([eb('latest_at', 'is', null), eb('latest_at', '<', latestAt)]))
    .execute()
}

export async function deleteArchive(db: Db, instanceId: string): Promise<void> {
  await db.deleteFrom('backup_archives').where('instance_id', '=', instanceId).execute()
}
