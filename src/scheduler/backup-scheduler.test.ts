/**
 * The scheduler on a real SQLite state store, its clock moved by the test: missed runs are
 * recorded, a run that cannot start is an ERROR with the reason, a run's end settles it, and
 * retention queues deletes from a chain's tip only. (Backups that really run: test/backup-schedules.test.ts.)
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { insertBackup } from '../store/repos/backups.js'
import { insertSchedule, recentRuns, findSchedule } from '../store/repos/backup-schedules.js'
import type { BackupTable, BackupScheduleTable } from '../store/schema.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import { backupKeysWith } from '../tasks/steps/backup-keys.js'
import { BackupScheduler } from './backup-scheduler.js'

const schedule = (id: string, over: Partial<BackupScheduleTable> = {}): BackupScheduleTable => ({
  id,
  project_id: 'p1',
  instance_id: 'no-such-instance',
  name: 'daily-bkp',
  description: null,
  pattern: '0 0 2 ? * *',
  incremental: 0,
  verify: 0,
  keep_last: null,
  keep_days: null,
  workflow_input: '{}',
  next_run_at: '2026-11-25T02:00:00.000Z',
  last_run_at: null,
  created_at: '2026-11-20T00:00:00.000Z',
  updated_at: '2026-11-20T00:00:00.000Z',
  ...over,
})

const backup = (id: string, scheduleId: string, takenAt: string, parent: string | null = null): Omit<BackupTable, 'created_at' | 'updated_at'> => ({
  id, project_id: 'p1', instance_id: 'i1', name: id, description: null, parent_id: parent, datastore_version_id: 'v1', status: 'COMPLETED', status_detail: null, strategy: 'rdb',
  location: `backups/${id}/`, wrapped_key: 'x', objects: null, position: null, data_bytes: 1, stored_bytes: 1, checksum: null, taken_at: takenAt, verified_at: null,
  verify_status: null, verify_detail: null, schedule_id: scheduleId,
})

describe('backup scheduler', () => {
  let home: string
  let store: StateStore
  let clock: Date
  let logs: string[]
  let scheduler: BackupScheduler
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-sched-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })
  beforeEach(async () => {
    await store.db.deleteFrom('backup_schedule_runs').execute()
    await store.db.deleteFrom('backup_schedules').execute()
    await store.db.deleteFrom('backups').execute()
    await store.db.deleteFrom('tasks').execute()
    logs = []
    scheduler = new BackupScheduler({ db: store.db, requests: { keys: backupKeysWith(Buffer.alloc(32, 7)), quotaDefaults: { instances: 10, volumes: 10, backups: 50 } }, log: (m) => logs.push(m), now: () => clock })
  })

  it('records each run due while it was not running as MISSED, logs it, and plans the next', async () => {
    await insertSchedule(store.db, schedule('s1'))
    clock = new Date('2026-11-28T10:00:00Z')
    const r = await scheduler.tick()
    assert.equal(r.missed, 4)
    assert.deepEqual(r.started, [])
    const runs = await recentRuns(store.db, 's1', 20)
    assert.deepEqual(runs.map((x) => [x.scheduled_for, x.state]), ['28', '27', '26', '25'].map((d) => [`2026-11-${d}T02:00:00.000Z`, 'MISSED']))
    assert.match(runs[0]!.message ?? '', /not running at 2026-11-28T02:00:00/)
    assert.equal((await findSchedule(store.db, 's1'))!.next_run_at, '2026-11-29T02:00:00.000Z')
    assert.ok(logs.some((l) => /4 run\(s\) missed/.test(l) && /next run 2026-11-29T02:00:00/.test(l)), logs.join('\n'))
    // Nothing more until the next due time; a second tick records nothing twice.
    assert.equal((await scheduler.tick()).missed, 0)
    assert.equal((await recentRuns(store.db, 's1', 20)).length, 4)
  })

  it('keeps at most 10 missed runs of one schedule and says how many more there were', async () => {
    await insertSchedule(store.db, schedule('s2', { pattern: '0 * * * *', next_run_at: '2026-11-27T00:00:00.000Z' }))
    clock = new Date('2026-11-28T10:30:00Z')
    await scheduler.tick()
    const runs = await recentRuns(store.db, 's2', 50)
    assert.equal(runs.length, 10)
    assert.match(runs.at(-1)!.message ?? '', /25 earlier run\(s\) were missed too/)
  })

  it('records a due run that cannot start as ERROR with the reason, and logs it', async () => {
    await insertSchedule(store.db, schedule('s3', { next_run_at: '2026-11-28T02:00:00.000Z' }))
    clock = new Date('2026-11-28T02:00:02Z')
    const r = await scheduler.tick()
    assert.equal(r.failed.length, 1)
    const [run] = await recentRuns(store.db, 's3', 5)
    assert.equal(run!.state, 'ERROR')
    assert.match(run!.message ?? '', /could not start: Resource no-such-instance cannot be found/)
    assert.ok(logs.some((l) => /could not start/.test(l)))
    assert.equal((await findSchedule(store.db, 's3'))!.last_run_at, '2026-11-28T02:00:00.000Z')
  })

  it('settles a running run when its backup ends', async () => {
    await insertSchedule(store.db, schedule('s4', { next_run_at: null }))
    await store.db.insertInto('backup_schedule_runs').values({ id: 'r1', schedule_id: 's4', scheduled_for: '2026-11-28T02:00:00.000Z', started_at: '2026-11-28T02:00:00.000Z', state: 'RUNNING', backup_id: 'b1', message: null, updated_at: 'x' }).execute()
    await insertBackup(store.db, { ...backup('b1', 's4', '2026-11-28T02:00:00Z'), status: 'SAVING' })
    clock = new Date('2026-11-28T02:01:00Z')
    assert.equal((await scheduler.tick()).settled, 0)
    await store.db.updateTable('backups').set({ status: 'FAILED', status_detail: 'disk full' }).execute()
    assert.equal((await scheduler.tick()).settled, 1)
    const [run] = await recentRuns(store.db, 's4', 5)
    assert.equal(run!.state, 'ERROR')
    assert.match(run!.message ?? '', /ended FAILED: disk full/)
  })

  it('retention deletes expired backups from the tip of a chain, never one another depends on', async () => {
    await insertSchedule(store.db, schedule('s5', { next_run_at: null, keep_last: 1 }))
    // full f1 <- i1 <- i2 (a chain), then full f2: keep the last one (f2); the chain goes tip first.
    await insertBackup(store.db, backup('f1', 's5', '2026-11-20T02:00:00Z'))
    await insertBackup(store.db, backup('i1', 's5', '2026-11-21T02:00:00Z', 'f1'))
    await insertBackup(store.db, backup('i2', 's5', '2026-11-22T02:00:00Z', 'i1'))
    await insertBackup(store.db, backup('f2', 's5', '2026-11-23T02:00:00Z'))
    clock = new Date('2026-11-28T10:00:00Z')
    assert.deepEqual((await scheduler.tick()).deleting, ['i2'])
    // The delete is queued, not done: a second tick queues it again not at all.
    assert.deepEqual((await scheduler.tick()).deleting, [])
    await store.db.deleteFrom('backups').where('id', '=', 'i2').execute()
    assert.deepEqual((await scheduler.tick()).deleting, ['i1'])
    await store.db.deleteFrom('backups').where('id', '=', 'i1').execute()
    assert.deepEqual((await scheduler.tick()).deleting, ['f1'])
    const tasks = await store.db.selectFrom('tasks').select(['kind', 'input']).execute()
    assert.deepEqual(tasks.map((t) => [t.kind, JSON.parse(t.input).backupId]), [['delete-backup', 'i2'], ['delete-backup', 'i1'], ['delete-backup', 'f1']])
  })

  it('keeps a whole chain whose tip is kept', async () => {
    await insertSchedule(store.db, schedule('s6', { next_run_at: null, keep_last: 1 }))
    await insertBackup(store.db, backup('f1', 's6', '2026-11-20T02:00:00Z'))
    await insertBackup(store.db, backup('i1', 's6', '2026-11-21T02:00:00Z', 'f1'))
    clock = new Date('2026-11-28T10:00:00Z')
    assert.deepEqual((await scheduler.tick()).deleting, [])
  })
})
