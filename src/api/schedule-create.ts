/**
 * Creating a backup schedule, for Coffer's `/schedules` and Mistral's `/v2/cron_triggers` alike:
 * every check first (pattern, retention, the instance and what its datastore can back up), then one
 * row. A refused request stores nothing.
 */
import { randomUUID } from 'node:crypto'
import { BadRequest, Conflict, NotFound, NotImplemented } from '../core/errors.js'
import { findSchedule, insertSchedule } from '../store/repos/backup-schedules.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findClientInstance } from '../store/repos/instances.js'
import type { BackupScheduleRow, Db } from '../store/schema.js'
import { parsePattern } from '../scheduler/cron-pattern.js'

export interface ScheduleRequest {
  /** The cron trigger's name when Mistral's API made it; a new UUID otherwise. */
  readonly id?: string | undefined
  /** The project to find the instance in; undefined for the cloud admin (any project). */
  readonly projectScope: string | undefined
  readonly instanceId: string
  readonly name: string
  readonly description?: string | null | undefined
  readonly pattern: string
  readonly incremental?: boolean | undefined
  readonly verify?: boolean | undefined
  readonly keepLast?: number | null | undefined
  readonly keepDays?: number | null | undefined
  /** Mistral's workflow input as sent; built from the fields above when absent. */
  readonly workflowInput?: string | undefined
}

/** Backup names get ` YYYY-MM-DDTHH:MM` appended and stay within the 255 a backup name may have. */
const MAX_NAME = 200
const MAX_KEEP = 100_000

export async function createSchedule(db: Db, req: ScheduleRequest, now: Date = new Date()): Promise<BackupScheduleRow> {
  const name = req.name.trim()
  if (!name || name.length > MAX_NAME) throw new BadRequest(`A schedule needs a backup name of 1 to ${MAX_NAME} characters, e.g. daily-bkp.`, 'VALIDATION')
  if ((req.description?.length ?? 0) > 512) throw new BadRequest('A schedule description is at most 512 characters.', 'VALIDATION')
  for (const [field, v] of [['keep_last', req.keepLast], ['keep_days', req.keepDays]] as const) {
    if (v !== undefined && v !== null && !(Number.isInteger(v) && v >= 1 && v <= MAX_KEEP)) {
      throw new BadRequest(`Retention ${field} must be a whole number from 1 to ${MAX_KEEP}, not ${JSON.stringify(v)}.`, 'VALIDATION')
    }
  }
  const id = req.id ?? randomUUID()
  if (!id || id.length > 255 || /[/?#%\s]/.test(id)) throw new BadRequest(`A schedule's name (id) must be 1 to 255 characters without '/', '?', '#', '%' or spaces, not '${id}'.`, 'VALIDATION')
  const pattern = parsePattern(req.pattern, now)
  const instance = await findClientInstance(db, req.instanceId, req.projectScope)
  if (!instance) throw new NotFound(`Instance ${req.instanceId} could not be found.`, 'INSTANCE_NOT_FOUND')
  const version = await findVersionById(db, instance.datastore_version_id)
  const caps = version ? manifestOf(version).capabilities : undefined
  if (!caps?.backup) throw new NotImplemented(`The datastore of instance ${instance.id} cannot be backed up, so it cannot have a backup schedule.`)
  if (req.incremental && !caps.incremental_backup) throw new BadRequest(`The datastore of instance ${instance.id} takes only full backups; leave out incremental.`, 'VALIDATION')
  if (await findSchedule(db, id)) throw new Conflict(`A schedule (cron trigger) named ${id} exists already.`)
  const ts = now.toISOString()
  const row: BackupScheduleRow = {
    id,
    project_id: instance.project_id,
    instance_id: instance.id,
    name,
    description: req.description ?? null,
    pattern: pattern.text,
    incremental: req.incremental ? 1 : 0,
    verify: req.verify ? 1 : 0,
    keep_last: req.keepLast ?? null,
    keep_days: req.keepDays ?? null,
    workflow_input: req.workflowInput ?? JSON.stringify({ instance: instance.id, name, description: req.description ?? null, incremental: req.incremental ?? false }),
    next_run_at: pattern.next(now)?.toISOString() ?? null,
    last_run_at: null,
    created_at: ts,
    updated_at: ts,
  }
  await insertSchedule(db, row)
  return row
}
