import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { DatastoreManifest } from '../core/manifest.js'
import { GUEST_PROTOCOL_VERSION, type NodeAnnouncement } from '../guest/protocol.js'
import { listDatastores } from '../store/repos/datastores.js'
import { listNodes } from '../store/repos/nodes.js'
import { openSqliteStore, type StateStore } from '../store/state-store.js'
import { NodeRegistry } from './node-registry.js'

const manifest = (name: string, versions: string[]): DatastoreManifest => ({
  name,
  defaultPort: 1,
  versions: versions.map((v) => ({ name: v, versionNumber: `${v}.1` })),
  capabilities: { provisioning: true, databases: false, users: false, root: false, configuration: false, backup: false, incremental_backup: false, point_in_time_restore: false, replication: false, clustering: false },
  names: { maxLength: 63, pattern: '.*', patternText: 'anything', reservedDatabases: [], reservedUsers: [], passwordMaxLength: 99 },
})
const node = (name: string, ramMb: number, manifests: DatastoreManifest[]): NodeAnnouncement => ({
  protocol: GUEST_PROTOCOL_VERSION,
  name,
  addresses: ['127.0.0.1'],
  ports: { first: 20000, last: 20100 },
  capacity: { ramMb, vcpus: 2, diskGb: 10 },
  manifests,
  heartbeatMs: 100,
})

describe('node registry', () => {
  let home: string
  let store: StateStore
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'coffer-nodes-'))
    store = await openSqliteStore(join(home, 'state.sqlite'))
  })
  after(async () => {
    await store.close()
    rmSync(home, { recursive: true, force: true })
  })
  const served = async () => Object.fromEntries((await listDatastores(store.db)).map((d) => [d.name, d.versions.map((v) => v.name)]))

  it('keeps a version active while at least one UP node serves it, and the largest UP node as capacity', async () => {
    const log: string[] = []
    const nodes = new NodeRegistry(store.db, (m) => log.push(m))
    await nodes.register(node('a', 4096, [manifest('postgresql', ['15'])]))
    await nodes.register(node('b', 8192, [manifest('postgresql', ['15', '16']), manifest('redis', ['7.0'])]))
    assert.deepEqual(await served(), { postgresql: ['15', '16'], redis: ['7.0'] })
    assert.deepEqual({ ...nodes.capacity }, { ramMb: 8192, vcpus: 2 })

    // b stops heartbeating; a goes on.
    const t = Date.now()
    await nodes.heartbeat({ protocol: GUEST_PROTOCOL_VERSION, name: 'a', observedAt: t + 1000, instances: [] })
    await store.db.updateTable('nodes').set({ last_heartbeat: t - 60_000 }).where('name', '=', 'b').execute()
    await nodes.checkSilent()
    assert.deepEqual((await listNodes(store.db)).map((n) => [n.name, n.state]), [['a', 'UP'], ['b', 'DOWN']])
    assert.deepEqual(await served(), { postgresql: ['15'] })
    assert.deepEqual({ ...nodes.capacity }, { ramMb: 4096, vcpus: 2 })

    // b is heard from again.
    assert.equal(await nodes.heartbeat({ protocol: GUEST_PROTOCOL_VERSION, name: 'b', observedAt: Date.now() + 2000, instances: [] }), true)
    assert.deepEqual(await served(), { postgresql: ['15', '16'], redis: ['7.0'] })
    assert.equal(await nodes.heartbeat({ protocol: GUEST_PROTOCOL_VERSION, name: 'stranger', observedAt: Date.now(), instances: [] }), false)
  })

  it('leaves the versions as they were when the control plane starts again, before nodes speak', async () => {
    const before = await served()
    const again = new NodeRegistry(store.db, () => undefined)
    await again.load()
    assert.deepEqual(await served(), before)
    assert.equal(again.capacity.ramMb, 8192)
  })
})
