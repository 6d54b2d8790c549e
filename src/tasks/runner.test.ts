import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CofferError } from '../core/errors.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import * as tasks from '../store/repos/tasks.js'
import { TaskRunner, withRetries } from './runner.js'
import { TaskCancelled, workflow } from './workflow.js'

const INSTANCE = '00000000-0000-4000-8000-000000000001'

describe('a running task is cancelled by what the store says', () => {
  let home: string
  let store: StateStore
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-runner-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('aborts the step of a task whose instance has a stop queued behind it, ends it cancelled, and runs the stop next', { timeout: 30_000 }, async () => {
    const { db } = store
    let started!: () => void
    const stepStarted = new Promise<void>((r) => (started = r))
    let sawAbort = false
    let stopRan!: () => void
    const stopDone = new Promise<void>((r) => (stopRan = r))
    const long = workflow<{ instanceId: string }>({
      kind: 'long',
      async run(t) {
        await t.step('work', (signal) => {
          started()
          return new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              sawAbort = true
              reject(new Error('stopped what it started'))
            }),
          )
        })
        await t.step('never', async () => assert.fail('a cancelled task runs no further step'))
      },
      // As the instance workflows do: the store, not a call, says to stop.
      shouldStop: async (input) => (await tasks.openTasksOf(db, input.instanceId)).some((o) => o.kind === 'stop'),
    })
    const stop = workflow({ kind: 'stop', run: async () => stopRan() })
    const runner = new TaskRunner({ db, owner: 'test/1', workflows: [long, stop], concurrency: 2 })
    const longId = await tasks.insertTask(db, { instanceId: INSTANCE, kind: 'long', input: { instanceId: INSTANCE } })
    runner.start()
    try {
      await stepStarted
      await tasks.insertTask(db, { instanceId: INSTANCE, kind: 'stop', input: {} })
      // No kick: the runner's own look at the store finds it, as it would for another process's delete.
      await stopDone
      await runner.idle()
      assert.equal(sawAbort, true, "the step's signal fired")
      const row = await db.selectFrom('tasks').select('state').where('id', '=', longId).executeTakeFirstOrThrow()
      assert.equal(row.state, 'cancelled')
      assert.deepEqual(await tasks.openTasksOf(db, INSTANCE), [])
    } finally {
      await runner.stop()
    }
  })
})

describe('withRetries', () => {
  it('neither retries nor waits out its back-off once the signal fired', { timeout: 10_000 }, async () => {
    const abort = new AbortController()
    let tries = 0
    const failing = withRetries(
      async () => {
        tries++
        throw new CofferError('INTERNAL', 'flaky', { retryable: true })
      },
      abort.signal,
      () => setImmediate(() => abort.abort()),
    )
    await assert.rejects(failing, TaskCancelled)
    assert.equal(tries, 1)
  })

  it('still retries a retryable failure when nothing cancels it', async () => {
    let tries = 0
    const result = await withRetries(
      async () => {
        if (++tries < 2) throw new CofferError('INTERNAL', 'flaky', { retryable: true })
        return 'ok'
      },
      new AbortController().signal,
      () => {},
    )
    assert.equal(result, 'ok')
    assert.equal(tries, 2)
  })

  it('fails at once on an engine error marked not retryable, but retries an untyped one', async () => {
    let tries = 0
    const lasting = withRetries(
      async () => {
        tries++
        throw new CofferError('BINARY_MISSING', 'The engine binary is not installed.', { retryable: false })
      },
      new AbortController().signal,
      () => {},
    )
    await assert.rejects(lasting, { code: 'BINARY_MISSING' })
    assert.equal(tries, 1)
    tries = 0
    const result = await withRetries(
      async () => {
        if (++tries < 2) throw new Error('connect ECONNRESET')
        return 'ok'
      },
      new AbortController().signal,
      () => {},
    )
    assert.equal(result, 'ok')
    assert.equal(tries, 2)
  })
})
