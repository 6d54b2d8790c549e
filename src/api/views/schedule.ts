import type { BackupScheduleRow, BackupScheduleRunRow } from '../../store/schema.js'
import { troveTime } from '../links.js'

/** Coffer's own view of a backup schedule, with its recent runs when given (newest first). */
export function scheduleView(s: BackupScheduleRow, runs?: readonly BackupScheduleRunRow[]) {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    instance_id: s.instance_id,
    project_id: s.project_id,
    pattern: s.pattern,
    incremental: Number(s.incremental) === 1,
    verify: Number(s.verify) === 1,
    keep_last: s.keep_last,
    keep_days: s.keep_days,
    next_run: troveTime(s.next_run_at) ?? null,
    last_run: troveTime(s.last_run_at) ?? null,
    created: troveTime(s.created_at),
    updated: troveTime(s.updated_at),
    ...(runs ? { runs: runs.map(runView) } : {}),
  }
}

export const runView = (r: BackupScheduleRunRow) => ({
  id: r.id,
  scheduled_for: troveTime(r.scheduled_for),
  started: troveTime(r.started_at) ?? null,
  state: r.state,
  backup_id: r.backup_id,
  message: r.message,
})
