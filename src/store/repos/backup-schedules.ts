import type { BackupScheduleRow, BackupScheduleRunRow, BackupScheduleTable, Db, ScheduleRunState } from '../schema.js'
import { now } from './instances.js'

export async function insertSchedule(db: Db, row: BackupScheduleTable): Promise<void> {
  await db.insertInto('backup_schedules').values(row).execute()
}

/** A schedule by id, in `projectId` (any project when undefined: the cloud admin). */
export async function findSchedule(db: Db, id: string, projectId?: string): Promise<BackupScheduleRow | undefined> {
  let q = db.selectFrom('backup_schedules').selectAll().where('id', '=', id)
  if (projectId !== undefined) q = q.where('project_id', '=', projectId)
  return q.executeTakeFirst()
}

/** Oldest first; a project's, or an instance's too. */
export async function listSchedules(db: Db, filter: { projectId?: string | undefined; instanceId?: string | undefined }): Promise<BackupScheduleRow[]> {
  let q = db.selectFrom('backup_schedules').selectAll()
  if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId)
  if (filter.instanceId !== undefined) q = q.where('instance_id', '=', filter.instanceId)
  return q.orderBy('created_at').orderBy('id').execute()
}

/** Schedules due at `at` (ISO) or before. */
export async function dueSchedules(db: Db, at: string): Promise<BackupScheduleRow[]> {
  return db.selectFrom('backup_schedules').selectAll().where('next_run_at', 'is not', null).where('next_run_at', '<=', at).orderBy('next_run_at').execute()
}

/** Schedules with a retention rule. */
export async function retainedSchedules(db: Db): Promise<BackupScheduleRow[]> {
  return db.selectFrom('backup_schedules').selectAll().where((eb) => eb.or([eb('keep_last', 'is not', null), eb('keep_days', 'is not', null)])).execute()
}

/**
 * Moves the schedule's next run from `from` to `to` (compare-and-set): true for the one caller that
 * claimed the due time, so two control planes never both run it.
 */
export async function claimNextRun(db: Db, id: string, from: string, to: string | null, lastRunAt: string): Promise<boolean> {
  const r = await db.updateTable('backup_schedules').set({ next_run_at: to, last_run_at: lastRunAt, updated_at: now() }).where('id', '=', id).where('next_run_at', '=', from).executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

/** Deletes the schedule and its runs; its backups stay (they keep `schedule_id`). */
export async function deleteSchedule(db: Db, id: string): Promise<void> {
  await db.deleteFrom('backup_schedule_runs').where('schedule_id', '=', id).execute()
  await db.deleteFrom('backup_schedules').where('id', '=', id).execute()
}

export async function insertRun(db: Db, row: Omit<BackupScheduleRunRow, 'updated_at'>): Promise<void> {
  await db.insertInto('backup_schedule_runs').values({ ...row, updated_at: now() }).execute()
}

export async function setRunState(db: Db, id: string, state: ScheduleRunState, message: string | null): Promise<void> {
  await db.updateTable('backup_schedule_runs').set({ state, message, updated_at: now() }).where('id', '=', id).execute()
}

export async function setRunBackup(db: Db, id: string, backupId: string): Promise<void> {
  await db.updateTable('backup_schedule_runs').set({ backup_id: backupId, updated_at: now() }).where('id', '=', id).execute()
}

/** The schedule's newest runs first. */
export async function recentRuns(db: Db, scheduleId: string, limit: number): Promise<BackupScheduleRunRow[]> {
  return db.selectFrom('backup_schedule_runs').selectAll().where('schedule_id', '=', scheduleId).orderBy('scheduled_for', 'desc').orderBy('id', 'desc').limit(limit).execute()
}

/** Runs whose backup was queued and has not ended yet. */
export async function runningRuns(db: Db): Promise<BackupScheduleRunRow[]> {
  return db.selectFrom('backup_schedule_runs').selectAll().where('state', '=', 'RUNNING').execute()
}

export type ProjectRun = BackupScheduleRunRow & { readonly workflow_input: string }

/**
 * A project's runs with their schedule's workflow input (Mistral's executions), by `scheduled_for`
 * then id, in `dir`; `marker` is the id of the last run of the previous page.
 */
export async function projectRuns(db: Db, projectId: string, page: { limit: number; marker?: string | undefined; dir: 'asc' | 'desc' }): Promise<ProjectRun[]> {
  let q = db
    .selectFrom('backup_schedule_runs as r')
    .innerJoin('backup_schedules as s', 's.id', 'r.schedule_id')
    .selectAll('r')
    .select('s.workflow_input')
    .where('s.project_id', '=', projectId)
  if (page.marker) {
    const m = await db.selectFrom('backup_schedule_runs').selectAll().where('id', '=', page.marker).executeTakeFirst()
    if (m) {
      const cmp = page.dir === 'desc' ? '<' : '>'
      q = q.where((eb) => eb.or([eb('r.scheduled_for', cmp, m.scheduled_for), eb.and([eb('r.scheduled_for', '=', m.scheduled_for), eb('r.id', cmp, m.id)])]))
    }
  }
  return q.orderBy('r.scheduled_for', page.dir).orderBy('r.id', page.dir).limit(page.limit).execute()
}

/** A run, if its schedule is in `projectId` (any project when undefined). */
export async function findRun(db: Db, id: string, projectId?: string): Promise<ProjectRun | undefined> {
  let q = db.selectFrom('backup_schedule_runs as r').innerJoin('backup_schedules as s', 's.id', 'r.schedule_id').selectAll('r').select('s.workflow_input').where('r.id', '=', id)
  if (projectId !== undefined) q = q.where('s.project_id', '=', projectId)
  return q.executeTakeFirst()
}

export async function deleteRun(db: Db, id: string): Promise<void> {
  await db.deleteFrom('backup_schedule_runs').where('id', '=', id).execute()
}
