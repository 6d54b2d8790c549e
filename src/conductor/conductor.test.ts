import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { GUEST_PROTOCOL_VERSION, type Heartbeat } from '../guest/protocol.js'
import { findInstance, insertInstance, newInstanceRow } from '../store/repos/instances.js'
import { transition } from '../store/repos/transition.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import { takeHeartbeat } from './conductor.js'

const ID = '00000000-0000-4000-8000-000000000001'
const beat = (observedAt: number, serviceStatus: 'HEALTHY' | 'SHUTDOWN'): Heartbeat => ({ protocol: GUEST_PROTOCOL_VERSION, instanceId: ID, observedAt, serviceStatus, volumeUsedBytes: 1 })

describe('takeHeartbeat', () => {
  let home: string
  let store: StateStore
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-conductor-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
    await sql`PRAGMA foreign_keys = OFF`.execute(store.db)
    await insertInstance(store.db, newInstanceRow({ id: ID, project_id: 'p', name: 'i', flavor_id: '1', volume_size: 1, datastore_version_id: 'v', configuration_id: null }))
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('leaves the status to a running task', async () => {
    assert.equal(await takeHeartbeat(store.db, beat(1, 'HEALTHY')), false)
  })

  it('keeps taking reports while a fault is shown, and still drops stale ones', async () => {
    await transition(store.db, ID, 'BUILDING', 'NONE', { serviceStatus: 'HEALTHY' })
    await transition(store.db, ID, 'NONE', null, { fault: { message: 'Applying configuration failed: x', details: null, operation: 'apply-configuration', taskId: 't' } })
    assert.equal(await takeHeartbeat(store.db, beat(10, 'SHUTDOWN')), true)
    assert.equal((await findInstance(store.db, ID))?.service_status, 'SHUTDOWN')
    assert.equal(await takeHeartbeat(store.db, beat(5, 'HEALTHY')), false)
    assert.equal((await findInstance(store.db, ID))?.fault_message, 'Applying configuration failed: x', 'a report does not clear a fault')
  })
})
