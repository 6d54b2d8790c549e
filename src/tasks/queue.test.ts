import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { finishTask } from '../store/repos/tasks.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import { enqueue, taskEnded, waitForTasks } from './queue.js'

const INSTANCE = '00000000-0000-4000-8000-000000000001'

describe('waitForTasks', () => {
  let home: string
  let store: StateStore
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-queue-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })
  const queue = () => enqueue(store.db, { instanceId: INSTANCE, kind: 'apply-configuration', input: { instanceId: INSTANCE } })

  it('wakes as soon as the runner of this process says the task ended, not at the next poll', async () => {
    const id = await queue()
    const started = Date.now()
    setTimeout(() => void finishTask(store.db, id, 'done', null).then(() => taskEnded(id)), 50)
    assert.equal(await waitForTasks(store.db, [id], 5_000, 60_000), true)
    assert.ok(Date.now() - started < 2_000)
  })

  it('sees a task another process ended by reading the store', async () => {
    const id = await queue()
    setTimeout(() => void finishTask(store.db, id, 'failed', 'x'), 50)
    assert.equal(await waitForTasks(store.db, [id], 5_000, 20), true)
  })

  it('gives up after its bound with the task still open', async () => {
    const id = await queue()
    const started = Date.now()
    assert.equal(await waitForTasks(store.db, [id], 200, 20), false)
    assert.ok(Date.now() - started >= 200)
    assert.equal(await waitForTasks(store.db, [], 200), true)
  })
})
