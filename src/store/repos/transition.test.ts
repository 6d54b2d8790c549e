import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { openSqliteStore, type StateStore } from '../state-store.js'
import { findInstance, insertInstance, newInstanceRow } from './instances.js'
import { transition } from './transition.js'

describe('transition', () => {
  let home: string
  let store: StateStore
  let n = 0
  const instance = async () => {
    const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`
    await insertInstance(store.db, newInstanceRow({ id, project_id: 'p', name: 'i', flavor_id: '1', volume_size: 1, datastore_version_id: 'v', configuration_id: null }))
    return id
  }
  const row = async (id: string) => (await findInstance(store.db, id))!
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-transition-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
    // Rows of their own: no project, flavor or version needed to test the status machine.
    await sql`PRAGMA foreign_keys = OFF`.execute(store.db)
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('moves only from the statuses named, so one of two racing writers wins', async () => {
    const id = await instance()
    assert.equal(await transition(store.db, id, 'BUILDING', 'NONE', { serviceStatus: 'HEALTHY' }), true)
    assert.equal((await row(id)).service_status, 'HEALTHY')
    const [a, b] = await Promise.all([transition(store.db, id, 'NONE', 'REBOOTING'), transition(store.db, id, 'NONE', 'DELETING')])
    assert.equal(Number(a) + Number(b), 1)
    assert.equal(await transition(store.db, 'no-such-id', 'NONE', 'DELETING'), false)
  })

  it('refuses a move the table does not have', async () => {
    const id = await instance()
    await assert.rejects(transition(store.db, id, 'BUILDING', 'REBOOTING'), /no move from BUILDING to REBOOTING/)
    assert.equal((await row(id)).task_status, 'BUILDING')
  })

  it('keeps a failed build shown over a later failed apply, and clears a mended fault on success', async () => {
    const id = await instance()
    const failed = (operation: 'create-instance' | 'apply-configuration') => ({ message: `${operation} failed`, details: null, operation, taskId: 't' })
    await transition(store.db, id, 'BUILDING', 'NONE', { fault: failed('create-instance') })
    await transition(store.db, id, 'NONE', null, { fault: failed('apply-configuration') })
    assert.equal((await row(id)).fault_operation, 'create-instance')
    await transition(store.db, id, 'NONE', null, { clearFault: 'mended' })
    assert.equal((await row(id)).fault_message, 'create-instance failed', 'only a delete or reset_status ends a failed build')

    const other = await instance()
    await transition(store.db, other, 'BUILDING', 'NONE', { serviceStatus: 'HEALTHY' })
    await transition(store.db, other, 'NONE', null, { fault: failed('apply-configuration') })
    assert.equal((await row(other)).fault_task_id, 't')
    await transition(store.db, other, 'NONE', 'REBOOTING')
    assert.equal((await row(other)).fault_message, 'apply-configuration failed', 'a fault stays shown while a restart runs')
    await transition(store.db, other, 'REBOOTING', 'NONE', { clearFault: 'mended' })
    const mended = await row(other)
    assert.equal(mended.fault_message, null)
    assert.equal(mended.fault_operation, null)
  })
})
