import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { NodeCall } from '../bus/bus.js'
import { InProcessBus } from '../bus/in-process-bus.js'
import { syncDatastores } from '../store/repos/datastores.js'
import { insertInstance, newInstanceRow, updateInstance } from '../store/repos/instances.js'
import type { InstanceRow } from '../store/schema.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import { NodeSync } from './node-sync.js'

const ID = '00000000-0000-4000-8000-0000000000a1'
const ORPHAN = '00000000-0000-4000-8000-0000000000b2'

describe('node sync', () => {
  let home: string
  let store: StateStore
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-sync-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
    await syncDatastores(store.db, [
      {
        name: 'redis',
        defaultPort: 6379,
        versions: [{ name: '7.0', versionNumber: '7.0.15' }],
        capabilities: { provisioning: true, databases: false, users: true, root: false, configuration: true, backup: false, incremental_backup: false, point_in_time_restore: false, replication: false, clustering: false },
        names: { maxLength: 63, pattern: '.*', patternText: 'anything', reservedDatabases: [], reservedUsers: [], passwordMaxLength: 99 },
      },
    ])
    const version = await store.db.selectFrom('datastore_versions').select('id').executeTakeFirstOrThrow()
    await insertInstance(store.db, newInstanceRow({ id: ID, project_id: 'p', name: 'i', flavor_id: '1', volume_size: 1, datastore_version_id: version.id, configuration_id: null }))
    await updateInstance(store.db, ID, { node: 'n1', port: 20001 })
  })
  // Statuses change only through transition() in the product; here the rows are set as each case needs.
  const setRow = (values: Partial<InstanceRow>) => store.db.updateTable('instances').set(values).where('id', '=', ID).execute()
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('tells the node what should exist, only what changed, and to forget what no longer exists', async () => {
    const bus = new InProcessBus()
    const calls: NodeCall[] = []
    bus.serve('n1', async (call) => void calls.push(call))
    const sync = new NodeSync({ db: store.db, bus, log: () => undefined })
    const settle = async (held: string[] = []) => {
      await sync.sync('n1', held)
      await sleep(20) // ensures go out on their own
    }
    const spec = { instanceId: ID, datastore: 'redis', version: '7.0', port: 20001, flavor: { ramMb: 512, vcpus: 1 }, volumeGb: 1 }

    await settle()
    assert.deepEqual(calls.splice(0), [{ method: 'ensure', args: [{ spec, running: false }] }], 'a task builds it: not to be kept running')
    await settle()
    assert.deepEqual(calls.splice(0), [], 'nothing changed, nothing sent')

    await setRow({ task_status: 'NONE', service_status: 'HEALTHY' })
    await settle([ID, ORPHAN])
    assert.deepEqual(calls.splice(0), [
      { method: 'ensure', args: [{ spec, running: true }] },
      { method: 'forget', args: [ORPHAN] },
    ])

    await setRow({ fault_message: 'Applying configuration failed', fault_operation: 'apply-configuration' })
    await settle([ID])
    assert.deepEqual(calls.splice(0), [], 'a failed apply leaves the engine running and supervised')

    await setRow({ fault_message: 'it failed', fault_operation: 'create-instance' })
    await settle([ID])
    assert.deepEqual(calls.splice(0), [{ method: 'ensure', args: [{ spec, running: false }] }], 'a failed build: left as the failure left it')

    sync.reset('n1')
    await settle([ID])
    assert.deepEqual(calls.splice(0), [{ method: 'ensure', args: [{ spec, running: false }] }], 'a node that registers again is told everything')
  })
})
