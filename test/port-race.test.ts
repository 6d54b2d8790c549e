/**
 * The port race: an instance's port is free when placement probes it and taken by another process
 * before the engine listens (the fault point COFFER_TAKE_PORT_AFTER_PLACE takes it, inside the
 * server, right after placement). The create moves the instance to a free port and ends ACTIVE
 * there, on every engine; the process on the old port never makes it ACTIVE; after a few ports the
 * create gives up with a clear fault. The spare keeper's builds go through the same create, so a
 * spare moves too, and keeps its new port when a create claims it.
 */
import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'
import { type EngineProbe, mariadbProbe, postgresqlProbe, redisProbe } from './helpers/engines.js'

/** The ports a create found taken, from the server's log of failed steps. */
const takenPorts = (coffer: CofferProcess, id: string): number[] =>
  [...coffer.output().matchAll(new RegExp(`instance ${id} could not listen on port (\\d+)`, 'g'))].map((m) => Number(m[1]))

/** True when something accepts TCP connections on the port. */
const answers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })

const createBody = (probe: EngineProbe, name: string) => {
  const schema = probe.datastore !== 'redis'
  return {
    instance: {
      name,
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: probe.datastore, version: probe.version },
      ...(schema ? { databases: [{ name: 'app' }] } : {}),
      users: [{ name: 'app', password: 'app-Passw0rd', databases: schema ? [{ name: 'app' }] : [] }],
    },
  }
}

async function session(env: Record<string, string>): Promise<{ coffer: CofferProcess; api: TestClient }> {
  const coffer = await startCoffer(env)
  const api = new TestClient(coffer.url)
  await api.login('admin', ADMIN_PASSWORD, 'admin')
  return { coffer, api }
}

describe('a port taken between placement and start', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '1' }))
  })
  after(async () => coffer?.destroy())

  for (const probe of [postgresqlProbe, mariadbProbe, redisProbe]) {
    it(`moves a ${probe.datastore} instance to a free port, where its own engine answers`, async () => {
      const created = await api.api('POST', '/instances', createBody(probe, `race-${probe.datastore}`))
      assert.equal(created.status, 200, JSON.stringify(created.body))
      const id = created.body.instance.id
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      const taken = takenPorts(coffer, id)
      assert.equal(taken.length, 1, `one port found taken: ${taken}`)
      assert.notEqual(inst.port, taken[0], 'the instance left the taken port')
      assert.ok(await probe.canUse(inst.port, 'app', 'app-Passw0rd', probe.datastore === 'redis' ? undefined : 'app'), 'its engine answers on the new port')
      // The other process still answers on the old port, and it is not the engine (a Redis client
      // waits for ever on a server that says nothing: no answer in time is a no).
      assert.equal(await answers(taken[0]!), true)
      const there = probe.canUse(taken[0]!, 'app', 'app-Passw0rd', probe.datastore === 'redis' ? undefined : 'app')
      assert.equal(await Promise.race([there, sleep(6_000).then(() => false)]), false)

      assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
      await api.waitGone(id)
    })
  }
})

describe('ports taken again and again', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    // Every port the instance is given is taken: the first placement's and each move's.
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '100' }))
  })
  after(async () => coffer?.destroy())

  it('ends the create in ERROR after a few ports, with a clear fault, and never ACTIVE', async () => {
    const id = (await api.api('POST', '/instances', createBody(redisProbe, 'race-lost'))).body.instance.id
    const seen = new Set<string>()
    const inst = (await api.waitFor(id, (r) => (seen.add(r.body?.instance?.status), ['ACTIVE', 'ERROR'].includes(r.body?.instance?.status)))).body.instance
    assert.equal(inst.status, 'ERROR', JSON.stringify(inst))
    assert.equal(seen.has('ACTIVE'), false)
    const taken = takenPorts(coffer, id)
    assert.equal(new Set(taken).size, 4, `the original port and three moves: ${taken}`)
    assert.match(inst.fault.message, /could not listen on any of the ports .*other processes took each/)
    assert.match(inst.fault.message, new RegExp(taken.join(', ')))

    assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
    await api.waitGone(id)
    assert.deepEqual(processesUnder(`${coffer.home}/instances`), [])
  })
})

describe('a spare built while ports are being taken', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '1', COFFER_SPARES: 'redis=1' }))
  })
  after(async () => coffer?.destroy())

  it('moved off its taken port when it was built, and keeps the new one when a create claims it', async () => {
    const deadline = Date.now() + 60_000
    let spare: string | undefined
    while (!spare) {
      const s = (await api.api('GET', '/mgmt/spares')).body
      spare = s.spares.find((x: { status: string }) => x.status === 'READY')?.id
      if (Date.now() > deadline) throw new Error(`no spare became ready: ${JSON.stringify(s)}`)
      if (!spare) await sleep(200)
    }
    const taken = takenPorts(coffer, spare)
    assert.equal(taken.length, 1, `the spare's first port was found taken: ${taken}`)

    const created = await api.api('POST', '/instances', createBody(redisProbe, 'race-spare'))
    const inst = (await api.waitActive(created.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.equal(inst.id, spare, 'the create claimed the spare')
    assert.notEqual(inst.port, taken[0])
    assert.ok(await redisProbe.canUse(inst.port, 'app', 'app-Passw0rd'))
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })
})
