/**
 * Mistral v2's cron trigger and execution, as python-mistralclient reads them (and troveclient,
 * which matches an execution to its trigger by `workflow_name` and the parsed `input`). Mistral's
 * times are `YYYY-MM-DD HH:MM:SS` in UTC.
 */
import type { ProjectRun } from '../../store/repos/backup-schedules.js'
import type { BackupScheduleRow } from '../../store/schema.js'

export const BACKUP_WORKFLOW = 'trove.backup_create'
/** A fixed id for the one workflow Coffer serves, for clients that show `workflow_id`. */
export const BACKUP_WORKFLOW_ID = 'c0ffe400-0000-4000-8000-00000000b4c0'

export const mistralTime = (iso: string | null | undefined): string | null => (iso ? iso.slice(0, 19).replace('T', ' ') : null)

export function cronTriggerView(s: BackupScheduleRow) {
  return {
    id: s.id,
    name: s.id,
    pattern: s.pattern,
    workflow_name: BACKUP_WORKFLOW,
    workflow_id: BACKUP_WORKFLOW_ID,
    workflow_input: s.workflow_input,
    workflow_params: '{}',
    scope: 'private',
    project_id: s.project_id,
    first_execution_time: null,
    next_execution_time: mistralTime(s.next_run_at),
    remaining_executions: null,
    created_at: mistralTime(s.created_at),
    updated_at: mistralTime(s.updated_at),
  }
}

/** Mistral has no MISSED state: a missed run is an ERROR whose state_info says it was missed. */
export function executionView(r: ProjectRun) {
  const state = r.state === 'MISSED' ? 'ERROR' : r.state
  return {
    id: r.id,
    workflow_name: BACKUP_WORKFLOW,
    workflow_id: BACKUP_WORKFLOW_ID,
    workflow_namespace: '',
    description: `Scheduled backup due at ${mistralTime(r.scheduled_for)}`,
    params: '{}',
    input: r.workflow_input,
    output: JSON.stringify({ ...(r.backup_id ? { backup_id: r.backup_id } : {}), ...(r.message ? { result: r.message } : {}) }),
    state,
    state_info: r.message,
    task_execution_id: null,
    root_execution_id: null,
    source_execution_id: null,
    created_at: mistralTime(r.started_at ?? r.scheduled_for),
    updated_at: mistralTime(r.updated_at),
  }
}
