/**
 * The one suite every StateStore runs: migrations from an empty database, applied again and on
 * reopening without change, then each repository's basic behaviour on the fresh store. Written
 * against the `Db` and the repositories only (no SQLite pragmas, no file paths), so a PostgreSQL
 * store can run it unchanged.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import type { DatastoreManifest } from '../../src/core/manifest.js'
import { migrationProvider } from '../../src/store/migrations/index.js'
import * as configurations from '../../src/store/repos/configurations.js'
import * as datastores from '../../src/store/repos/datastores.js'
import * as flavors from '../../src/store/repos/flavors.js'
import * as instances from '../../src/store/repos/instances.js'
import * as tasks from '../../src/store/repos/tasks.js'
import type { Db } from '../../src/store/schema.js'
import { migrate, type StateStore } from '../../src/store/state-store.js'
import { requestDelete } from '../../src/tasks/queue.js'
import type { SuiteSkip } from './datastore-suite.js'

export interface StateStoreUnderTest {
  /** Opens (and migrates) the store; every call opens the same, initially empty, database. */
  open(): Promise<StateStore>
  /** Removes the database and everything made for it. */
  cleanup(): Promise<void>
}

export interface StateStoreSuiteOptions {
  make(): Promise<StateStoreUnderTest>
  readonly skip?: readonly SuiteSkip[]
}

const PROJECT = 'project-a'

const manifest = (versions: readonly { name: string; versionNumber: string }[]): DatastoreManifest => ({
  name: 'suite-engine',
  defaultPort: 1234,
  versions,
  capabilities: { provisioning: true, databases: true, users: true, root: false, configuration: true, backup: false, incremental_backup: false, point_in_time_restore: false, replication: false, clustering: false },
  names: { maxLength: 10, pattern: '[a-z]+', patternText: 'letters', reservedDatabases: [], reservedUsers: [], passwordMaxLength: 10 },
})

export function runStateStoreSuite(name: string, o: StateStoreSuiteOptions): void {
  describe(`state store suite: ${name}`, () => {
    let under: StateStoreUnderTest
    let store: StateStore | undefined
    let db: Db
    let versionId: string

    const test = (title: string, fn: () => Promise<void>): void => {
      const reason = o.skip?.find((s) => s.tests.includes(title))?.reason
      it(title, reason ? { skip: reason } : {}, fn)
    }
    const migrations = async (): Promise<string[]> => (await db.selectFrom('kysely_migration' as never).select('name' as never).orderBy('name' as never).execute()).map((r) => (r as { name: string }).name)
    const newInstance = async (fields: Partial<{ name: string; project: string }> = {}): Promise<string> => {
      const id = randomUUID()
      const row = instances.newInstanceRow({ id, project_id: fields.project ?? PROJECT, name: fields.name ?? 'db', flavor_id: '1', volume_size: 1, datastore_version_id: versionId, configuration_id: null })
      await instances.insertInstance(db, row)
      return id
    }

    before(async () => {
      under = await o.make()
    })
    after(async () => {
      await store?.close()
      await under?.cleanup()
    })

    test('migrations > apply in full to an empty database', async () => {
      store = await under.open()
      db = store.db
      const expected = Object.keys(await migrationProvider.getMigrations()).sort()
      assert.deepEqual(await migrations(), expected)
      const tables = (await db.introspection.getTables()).map((t) => t.name)
      for (const t of ['projects', 'users', 'flavors', 'datastores', 'datastore_versions', 'instances', 'configurations', 'tasks', 'task_steps']) assert.ok(tables.includes(t), t)
    })

    test('migrations > run again and on reopening, change nothing', async () => {
      const before = await migrations()
      await migrate(db)
      assert.deepEqual(await migrations(), before)
      await store?.close()
      store = await under.open()
      db = store.db
      assert.deepEqual(await migrations(), before)
    })

    test('flavors > the defaults are there, ordered by RAM; insert, find and delete', async () => {
      const all = await flavors.listFlavors(db)
      assert.ok(all.length > 0, 'default flavors')
      assert.deepEqual(all.map((f) => f.ram_mb), [...all.map((f) => f.ram_mb)].sort((a, b) => a - b))
      await flavors.insertFlavor(db, { id: 'suite-f', name: 'suite', ram_mb: 64, vcpus: 1, disk_gb: 1 })
      assert.equal((await flavors.findFlavor(db, 'suite-f'))?.name, 'suite')
      await flavors.deleteFlavor(db, 'suite-f')
      assert.equal(await flavors.findFlavor(db, 'suite-f'), undefined)
    })

    test('datastores > sync keeps ids, lists active versions with the newest as default, hides versions gone', async () => {
      await datastores.syncDatastores(db, [manifest([{ name: '2', versionNumber: '2.1' }, { name: '1', versionNumber: '1.9' }])])
      const ds = await datastores.findDatastore(db, 'suite-engine')
      assert.ok(ds)
      assert.deepEqual(ds.versions.map((v) => v.name), ['1', '2'])
      const newest = datastores.findVersionIn(ds, '2')
      assert.equal(ds.default_version_id, newest?.id)
      assert.equal(datastores.manifestOf(newest!).defaultPort, 1234)
      await datastores.syncDatastores(db, [manifest([{ name: '2', versionNumber: '2.2' }])])
      const again = await datastores.findDatastore(db, ds.id)
      assert.deepEqual(again?.versions.map((v) => [v.id, v.version_number]), [[newest?.id, '2.2']], 'same id; version 1 gone from the list')
      assert.equal((await datastores.findVersionById(db, ds.versions[0]!.id))?.active, 0, 'kept, inactive')
      versionId = newest!.id
    })

    test('instances > insert, find within a project, page oldest first, count, update, delete', async () => {
      const ids: string[] = []
      for (const n of ['a', 'b', 'c']) {
        ids.push(await newInstance({ name: n }))
        await sleep(2) // distinct created_at
      }
      const other = await newInstance({ project: 'project-b' })
      assert.equal((await instances.findInstance(db, ids[0]!, PROJECT))?.name, 'a')
      assert.equal(await instances.findInstance(db, other, PROJECT), undefined, 'another project does not see it')
      assert.deepEqual((await instances.listInstances(db, PROJECT, { limit: 2 })).map((r) => r.name), ['a', 'b'])
      assert.deepEqual((await instances.listInstances(db, PROJECT, { limit: 2, marker: ids[1]! })).map((r) => r.name), ['c'])
      assert.equal(await instances.countInstances(db, PROJECT), 3)
      await instances.updateInstance(db, ids[0]!, { node: 'node-1', port: 40001 })
      await instances.updateInstance(db, ids[1]!, { node: 'node-1', port: 40002 })
      assert.deepEqual([...(await instances.usedPorts(db, 'node-1'))].sort(), [40001, 40002])
      assert.deepEqual((await instances.instancesOnNode(db, 'node-1')).map((r) => r.id).sort(), [ids[0], ids[1]].sort())
      for (const id of [...ids, other]) await instances.deleteInstanceRow(db, id)
      assert.equal(await instances.countInstances(db, PROJECT), 0)
    })

    test('instances > a delete request marks DELETING and queues one delete task, however often asked', async () => {
      const id = await newInstance()
      await requestDelete(db, id)
      await requestDelete(db, id)
      assert.equal((await instances.findInstance(db, id))?.task_status, 'DELETING')
      assert.deepEqual((await tasks.openTasksOf(db, id)).map((t) => t.kind), ['delete-instance'])
      const before = await instances.findInstance(db, id)
      assert.equal(await instances.resetStatus(db, id), false, 'nothing to reset on an instance being deleted')
      assert.deepEqual(await instances.findInstance(db, id), before, 'a delete under way stays under way, untouched')
      for (const t of await tasks.openTasksOf(db, id)) await tasks.finishTask(db, t.id, 'done', null)
      await instances.deleteInstanceRow(db, id)
    })

    test('tasks > claimed one at a time per instance, in order, under a lease that runs out', async () => {
      const instanceId = randomUUID()
      const first = await tasks.insertTask(db, { instanceId, kind: 'one', input: { n: 1 } })
      await sleep(2)
      const second = await tasks.insertTask(db, { instanceId, kind: 'two', input: { n: 2 } })
      const claimed = await tasks.claimTask(db, 'owner-a', 50, new Set())
      assert.equal(claimed?.id, first)
      assert.equal(claimed?.state, 'running')
      assert.equal(await tasks.claimTask(db, 'owner-b', 50, new Set()), undefined, 'the second waits for the first; the first is leased')
      await sleep(80)
      assert.equal((await tasks.claimTask(db, 'owner-b', 60_000, new Set()))?.id, first, 'an expired lease is claimed again')
      await tasks.recordStep(db, first, 'step-1', { port: 5 })
      await tasks.recordStep(db, first, 'step-2', undefined)
      assert.deepEqual(JSON.parse((await tasks.stepResult(db, first, 'step-1'))?.result ?? 'null'), { port: 5 })
      assert.equal((await tasks.stepResult(db, first, 'step-2'))?.result, null)
      assert.equal(await tasks.stepResult(db, first, 'step-3'), undefined)
      await tasks.finishTask(db, first, 'done', null, { scrubbed: true })
      assert.equal((await tasks.claimTask(db, 'owner-b', 60_000, new Set()))?.id, second)
      await tasks.finishTask(db, second, 'failed', 'it failed')
      assert.deepEqual(await tasks.openTasksOf(db, instanceId), [])
    })

    test('tasks > a lost owner\'s leases are released for its next run', async () => {
      const instanceId = randomUUID()
      const id = await tasks.insertTask(db, { instanceId, kind: 'one', input: {} })
      assert.equal((await tasks.claimTask(db, 'node-1/123', 60_000, new Set()))?.id, id)
      await tasks.releaseLeasesOf(db, 'node-1/')
      assert.equal((await tasks.claimTask(db, 'node-1/456', 60_000, new Set()))?.id, id)
      await tasks.finishTask(db, id, 'cancelled', null)
    })

    test('configurations > insert, find within a project, list, update, overrides on top of the version defaults, delete', async () => {
      const ts = new Date().toISOString()
      const id = randomUUID()
      await db.updateTable('datastore_versions').set({ default_values: JSON.stringify({ a: 1, b: 'x' }) }).where('id', '=', versionId).execute()
      await configurations.insertConfiguration(db, { id, project_id: PROJECT, name: 'g', description: null, datastore_version_id: versionId, values: JSON.stringify({ b: 'y' }), created_at: ts, updated_at: ts })
      assert.equal(await configurations.findConfiguration(db, id, 'project-b'), undefined)
      assert.deepEqual((await configurations.listConfigurations(db, PROJECT)).map((c) => c.name), ['g'])
      await configurations.updateConfiguration(db, id, { name: 'g2', values: { b: 'z', c: true } })
      const row = await configurations.findConfiguration(db, id, PROJECT)
      assert.equal(row?.name, 'g2')
      assert.deepEqual(configurations.valuesOf(row!), { b: 'z', c: true })
      const instanceId = await newInstance()
      await instances.updateInstance(db, instanceId, { configuration_id: id })
      assert.deepEqual(await configurations.attachedInstances(db, id), [{ id: instanceId, name: 'db' }])
      assert.deepEqual(await configurations.overridesFor(db, { datastore_version_id: versionId, configuration_id: id }), { a: 1, b: 'z', c: true })
      await instances.deleteInstanceRow(db, instanceId)
      await configurations.deleteConfiguration(db, id)
      assert.equal(await configurations.findConfiguration(db, id), undefined)
    })
  })
}
