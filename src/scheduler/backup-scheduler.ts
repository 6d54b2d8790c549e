/**
 * Runs backup schedules on the control plane: at each tick it settles the runs whose backup ended,
 * starts the runs that are due (through requestBackup, the API's own way), records runs that were
 * due while Coffer was not running as MISSED, and applies each schedule's retention (through
 * requestBackupDelete). Time comes from `now`, and `tick()` is public, so tests move the clock
 * instead of waiting.
 */
import { randomUUID } from 'node:crypto'
import { errorMessage } from '../core/errors.js'
import type { Log } from '../logger.js'
import * as backups from '../store/repos/backups.js'
import * as schedules from '../store/repos/backup-schedules.js'
import { openTasksOf } from '../store/repos/tasks.js'
import type { BackupScheduleRow, Db } from '../store/schema.js'
import { requestBackup, requestBackupDelete, type BackupRequestDeps } from '../tasks/backup-requests.js'
import { backupTaskKey } from '../tasks/queue.js'
import { parsePattern, planRuns } from './cron-pattern.js'
import { expiredBackups } from './retention.js'

export interface BackupSchedulerOptions {
  readonly db: Db
  readonly requests: BackupRequestDeps
  readonly log: Log
  /** Wakes the task runner after a backup or a delete was queued. */
  readonly kickTasks?: () => void
  readonly now?: () => Date
  /** How often it looks for due schedules; default 5 s. */
  readonly intervalMs?: number
  /** A due time this late still runs; older ones are MISSED. Default 60 s. */
  readonly graceMs?: number
  /** Missed runs recorded per schedule and tick (the newest); default 10. */
  readonly maxMissed?: number
}

export interface TickReport {
  readonly started: string[]
  readonly failed: string[]
  readonly missed: number
  readonly settled: number
  readonly deleting: string[]
}

/** An incremental schedule without keep_last takes a full backup after this many in a chain. */
export const FULL_EVERY = 7

/** The backup name of a run: the schedule's name and the time it was due, to the minute (UTC). */
export const runBackupName = (name: string, at: Date): string => `${name} ${at.toISOString().slice(0, 16)}`

export class BackupScheduler {
  readonly #o: BackupSchedulerOptions
  readonly #now: () => Date
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #stopped = false

  constructor(o: BackupSchedulerOptions) {
    this.#o = o
    this.#now = o.now ?? (() => new Date())
  }

  /** Ticks now (which reports what was missed while Coffer was down) and then every interval. */
  start(): void {
    this.#stopped = false
    const loop = (): void => {
      this.#running = this.tick()
        .catch((err) => this.#o.log(`backup schedules: ${errorMessage(err)}`))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.intervalMs ?? 5_000)
        })
    }
    loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  async tick(): Promise<TickReport> {
    const settled = await this.#settle()
    const now = this.#now()
    const report = { started: [] as string[], failed: [] as string[], missed: 0, settled, deleting: [] as string[] }
    for (const s of await schedules.dueSchedules(this.#o.db, now.toISOString())) {
      try {
        await this.#fire(s, now, report)
      } catch (err) {
        this.#o.log(`backup schedule ${s.id}: ${errorMessage(err)}`, { schedule: s.id, instance: s.instance_id })
      }
    }
    for (const s of await schedules.retainedSchedules(this.#o.db)) {
      try {
        report.deleting.push(...(await this.#retain(s, now)))
      } catch (err) {
        this.#o.log(`backup schedule ${s.id}: retention: ${errorMessage(err)}`, { schedule: s.id })
      }
    }
    if (report.started.length + report.deleting.length > 0) this.#o.kickTasks?.()
    return report
  }

  /** RUNNING runs whose backup ended become SUCCESS or ERROR. */
  async #settle(): Promise<number> {
    const { db } = this.#o
    let n = 0
    for (const run of await schedules.runningRuns(db)) {
      const b = run.backup_id ? await backups.findBackup(db, run.backup_id) : undefined
      if (b && backups.RUNNING_BACKUP.includes(b.status)) continue
      if (!b && !run.backup_id && Date.parse(run.started_at ?? run.scheduled_for) > this.#now().getTime() - 300_000) continue
      const [state, message] = !b
        ? (['ERROR', run.backup_id ? `Backup ${run.backup_id} was deleted before it completed.` : 'Coffer stopped while it was starting this run; no backup was made.'] as const)
        : b.status === 'COMPLETED'
          ? (['SUCCESS', `Backup ${b.id} completed.`] as const)
          : (['ERROR', `Backup ${b.id} ended ${b.status}${b.status_detail ? `: ${b.status_detail}` : ''}.`] as const)
      await schedules.setRunState(db, run.id, state, message)
      n++
    }
    return n
  }

  async #fire(s: BackupScheduleRow, now: Date, report: { started: string[]; failed: string[]; missed: number }): Promise<void> {
    const { db, log } = this.#o
    const due = new Date(s.next_run_at ?? now.toISOString())
    const plan = planRuns(parsePattern(s.pattern, now), due, now, { graceMs: this.#o.graceMs ?? 60_000, maxMissed: this.#o.maxMissed ?? 10 })
    const runId = randomUUID()
    const claimed = await db.transaction().execute(async (trx) => {
      const latest = plan.run ?? plan.missed[0] ?? due
      if (!(await schedules.claimNextRun(trx, s.id, s.next_run_at ?? '', plan.next?.toISOString() ?? null, latest.toISOString()))) return false
      for (const [i, at] of plan.missed.entries()) {
        const more = i === plan.missed.length - 1 && plan.missedMore > 0 ? ` ${plan.missedMore} earlier run(s) were missed too and are not listed.` : ''
        await schedules.insertRun(trx, { id: randomUUID(), schedule_id: s.id, scheduled_for: at.toISOString(), started_at: null, state: 'MISSED', backup_id: null, message: `Missed: Coffer was not running at ${at.toISOString()}, so no backup was made.${more}` })
      }
      if (plan.run) await schedules.insertRun(trx, { id: runId, schedule_id: s.id, scheduled_for: plan.run.toISOString(), started_at: now.toISOString(), state: 'RUNNING', backup_id: null, message: null })
      return true
    })
    if (!claimed) return
    const total = plan.missed.length + plan.missedMore
    if (total > 0) {
      report.missed += plan.missed.length
      log(`backup schedule ${s.id} (${s.name}) of instance ${s.instance_id}: ${total} run(s) missed while Coffer was not running, the last due at ${plan.missed[0]?.toISOString()}; next run ${plan.next?.toISOString() ?? 'never'}`, { schedule: s.id, instance: s.instance_id })
    }
    if (!plan.run) return
    try {
      const backup = await requestBackup(db, this.#o.requests, {
        projectId: s.project_id,
        instanceId: s.instance_id,
        name: runBackupName(s.name, plan.run),
        description: s.description ?? undefined,
        incremental: Number(s.incremental) === 1 && !(await this.#chainIsFull(s)),
        scheduleId: s.id,
        verify: Number(s.verify) === 1,
      })
      await schedules.setRunBackup(db, runId, backup.id)
      report.started.push(backup.id)
      log(`backup schedule ${s.id} (${s.name}): backup ${backup.id} of instance ${s.instance_id} queued`, { schedule: s.id, instance: s.instance_id, backup: backup.id })
    } catch (err) {
      await schedules.setRunState(db, runId, 'ERROR', `The backup could not start: ${errorMessage(err)}`)
      report.failed.push(runId)
      log(`backup schedule ${s.id} (${s.name}): the run due at ${plan.run.toISOString()} could not start: ${errorMessage(err)}`, { schedule: s.id, instance: s.instance_id })
    }
  }

  /**
   * An incremental schedule starts a new chain with a full backup once the newest chain holds as
   * many backups as it keeps (`keep_last`, else FULL_EVERY): otherwise every backup would depend on
   * the first and retention could never delete any.
   */
  async #chainIsFull(s: BackupScheduleRow): Promise<boolean> {
    const latest = await backups.latestCompleted(this.#o.db, s.instance_id)
    return latest !== undefined && (await backups.chainOf(this.#o.db, latest)).length >= (s.keep_last ?? FULL_EVERY)
  }

  /** Queues deletes of the schedule's expired backups that nothing depends on; resolves their ids. */
  async #retain(s: BackupScheduleRow, now: Date): Promise<string[]> {
    const { db, log } = this.#o
    const completed = await db.selectFrom('backups').selectAll().where('schedule_id', '=', s.id).where('status', '=', 'COMPLETED').orderBy('taken_at').orderBy('created_at').execute()
    const expired = expiredBackups(completed.map((b) => ({ id: b.id, at: b.taken_at ?? b.created_at })), { keepLast: s.keep_last, keepDays: s.keep_days }, now)
    const queued: string[] = []
    for (const { id } of expired) {
      if ((await backups.childrenOf(db, id)).length > 0) continue
      if ((await openTasksOf(db, backupTaskKey(id))).some((t) => t.kind === 'delete-backup')) continue
      const b = completed.find((c) => c.id === id)!
      await requestBackupDelete(db, b)
      queued.push(id)
      log(`backup schedule ${s.id} (${s.name}): retention deletes backup ${id} (${b.name})`, { schedule: s.id, backup: id })
    }
    return queued
  }
}
