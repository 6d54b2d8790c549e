/**
 * The node is a role of its own: it keeps each instance's spec in the instance's guest folder and,
 * started with nothing but a bus (no state store, no control plane of Coffer's), re-adopts the
 * engines of a killed `coffer serve` from those files. And a restart keeps the datastore versions
 * the node serves active.
 */
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { InProcessBus } from '../src/bus/in-process-bus.js'
import { LocalComputeDriver } from '../src/compute/local/local-compute-driver.js'
import { datastores } from '../src/guest/datastores/index.js'
import type { DesiredInstance, Heartbeat, NodeAnnouncement } from '../src/guest/protocol.js'
import { startNode } from '../src/node/start-node.js'
import { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, engineMains, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const until = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describe('the node role', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    coffer = await startCoffer()
    api = new TestClient(coffer.url)
    assert.equal((await api.login('admin', ADMIN_PASSWORD, 'admin')).status, 201)
  })
  after(async () => coffer?.destroy())

  it('re-adopts the engines of a killed server from its own spec files, with only a bus at hand', { timeout: 120_000 }, async () => {
    const created = await api.api('POST', '/instances', { instance: { name: 'kept', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const id = created.body.instance.id as string
    assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')

    const specFile = join(coffer.home, 'instances', id, 'guest', 'spec.json')
    const desired = () => JSON.parse(readFileSync(specFile, 'utf8')) as DesiredInstance
    // The control plane says "keep it running" at the node's next heartbeat after the task ended.
    await until('the node to be told to keep the engine running', () => desired().running)
    assert.equal(statSync(specFile).mode & 0o777, 0o600)
    const shown = (await api.api('GET', `/instances/${id}`)).body.instance
    assert.deepEqual(desired().spec, { instanceId: id, datastore: 'redis', version: '7.0', address: shown.ip[0], port: 6379, flavor: { ramMb: 512, vcpus: 1 }, volumeGb: 1 })

    // The server dies, and the engine with it (as when the host restarts): nothing else is removed.
    await coffer.kill()
    const instanceDir = join(coffer.home, 'instances', id)
    for (const pid of engineMains(instanceDir)) process.kill(pid, 'SIGKILL')
    await until('the engine to be gone', () => engineMains(instanceDir).length === 0)

    // A node with a bus whose only listener is this test: no state store is open anywhere.
    const bus = new InProcessBus()
    const announced: NodeAnnouncement[] = []
    const beats: Heartbeat[] = []
    bus.onRegister(async (a) => void announced.push(a))
    bus.onHeartbeat((hb) => beats.push(hb))
    const node = await startNode({
      bus,
      name: 'alone',
      address: '127.0.0.1',
      ports: { first: 20000, last: 20001 },
      heartbeatMs: 200,
      compute: new LocalComputeDriver(coffer.home, '127.0.0.1'),
      datastores,
      log: () => undefined,
    })
    try {
      assert.equal(announced.length, 1)
      assert.ok(announced[0]?.manifests.some((m) => m.name === 'redis'))
      assert.equal(engineMains(instanceDir).length, 1, 'the engine was started again before the node registered')
      await until('a HEALTHY heartbeat of the instance', () => beats.some((b) => b.instanceId === id && b.serviceStatus === 'HEALTHY'))
      assert.equal((await bus.node('alone').status(desired().spec)).healthy, true)
    } finally {
      await node.stop()
    }
  })

  it('keeps the datastore versions the node serves active across a restart, and the instance ACTIVE', { timeout: 120_000 }, async () => {
    const versions = async () => {
      const { body } = await api.api('GET', '/datastores')
      return Object.fromEntries(body.datastores.map((d: any) => [d.name, d.versions.map((v: any) => v.id)]))
    }
    await coffer.restart()
    const first = await versions()
    assert.ok(first.redis?.length > 0)
    await coffer.kill('SIGTERM')
    await coffer.restart()
    assert.deepEqual(await versions(), first)

    const { body } = await api.api('GET', '/instances')
    const kept = body.instances.find((i: any) => i.name === 'kept')
    assert.equal((await api.waitFor(kept.id, (r) => r.body?.instance?.status === 'ACTIVE')).body.instance.status, 'ACTIVE')
    assert.equal(engineMains(join(coffer.home, 'instances', kept.id)).length, 1, 'one engine: adopted, not started twice')
  })
})
