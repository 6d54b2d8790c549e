/**
 * The address race: an instance's address and port are free when placement probes them and taken
 * by another process before the engine listens (the fault point COFFER_TAKE_PORT_AFTER_PLACE takes
 * them, inside the server, right after placement). The create moves the instance to another free
 * address of the pool, on the same standard port, and ends ACTIVE there, on every engine; the
 * process at the old place never makes it ACTIVE; after a few addresses the create gives up with a
 * clear fault. The spare keeper's builds go through the same create, so a spare moves too, and
 * keeps its new address when a create claims it. Without a pool (COFFER_INSTANCE_NETWORK=off) the
 * instance moves to another port of the node's address instead.
 */
import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'
import { at, type EngineProbe, mariadbProbe, postgresqlProbe, redisProbe } from './helpers/engines.js'

interface Place {
  readonly host: string
  readonly port: number
}

/** The places (address and port) a create found taken, from the server's log of failed steps. */
const takenPlaces = (coffer: CofferProcess, id: string): Place[] =>
  [...coffer.output().matchAll(new RegExp(`instance ${id} could not listen on ([\\d.]+):(\\d+)`, 'g'))].map((m) => ({ host: m[1]!, port: Number(m[2]) }))

const STANDARD_PORT: Record<string, number> = { postgresql: 5432, mariadb: 3306, redis: 6379 }

/** True when something accepts TCP connections there. */
const answers = ({ host, port }: Place): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ port, host })
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

describe('an address taken between placement and start', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '1' }))
  })
  after(async () => coffer?.destroy())

  for (const probe of [postgresqlProbe, mariadbProbe, redisProbe]) {
    it(`moves a ${probe.datastore} instance to a free address on its standard port, where its own engine answers`, async () => {
      const created = await api.api('POST', '/instances', createBody(probe, `race-${probe.datastore}`))
      assert.equal(created.status, 200, JSON.stringify(created.body))
      const id = created.body.instance.id
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      const taken = takenPlaces(coffer, id)
      assert.equal(taken.length, 1, `one place found taken: ${JSON.stringify(taken)}`)
      assert.equal(taken[0]!.port, STANDARD_PORT[probe.datastore])
      assert.equal(inst.port, STANDARD_PORT[probe.datastore], 'the instance keeps its standard port')
      assert.notEqual(inst.ip[0], taken[0]!.host, 'the instance left the taken address')
      assert.ok(await probe.canUse(at(inst), 'app', 'app-Passw0rd', probe.datastore === 'redis' ? undefined : 'app'), 'its engine answers at the new address')
      // The other process still answers at the old place, and it is not the engine (a Redis client
      // waits for ever on a server that says nothing: no answer in time is a no).
      assert.equal(await answers(taken[0]!), true)
      const there = probe.canUse(taken[0]!, 'app', 'app-Passw0rd', probe.datastore === 'redis' ? undefined : 'app')
      assert.equal(await Promise.race([there, sleep(6_000).then(() => false)]), false)

      assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
      await api.waitGone(id)
    })
  }
})

describe('addresses taken again and again', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    // Every place the instance is given is taken: the first placement's and each move's.
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '100' }))
  })
  after(async () => coffer?.destroy())

  it('ends the create in ERROR after a few addresses, with a clear fault, and never ACTIVE', async () => {
    const id = (await api.api('POST', '/instances', createBody(redisProbe, 'race-lost'))).body.instance.id
    const seen = new Set<string>()
    const inst = (await api.waitFor(id, (r) => (seen.add(r.body?.instance?.status), ['ACTIVE', 'ERROR'].includes(r.body?.instance?.status)))).body.instance
    assert.equal(inst.status, 'ERROR', JSON.stringify(inst))
    assert.equal(seen.has('ACTIVE'), false)
    const taken = takenPlaces(coffer, id).map((p) => `${p.host}:${p.port}`)
    assert.equal(new Set(taken).size, 4, `the original address and three moves: ${taken}`)
    assert.match(inst.fault.message, /could not listen on any of .*other processes took each/)
    assert.match(inst.fault.message, new RegExp(taken.join(', ').replaceAll('.', '\\.')))

    assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
    await api.waitGone(id)
    assert.deepEqual(processesUnder(`${coffer.home}/instances`), [])
  })
})

describe('a spare built while addresses are being taken', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '1', COFFER_SPARES: 'redis=1' }))
  })
  after(async () => coffer?.destroy())

  it('moved off its taken address when it was built, and keeps the new one when a create claims it', async () => {
    const deadline = Date.now() + 60_000
    let spare: string | undefined
    while (!spare) {
      const s = (await api.api('GET', '/mgmt/spares')).body
      spare = s.spares.find((x: { status: string }) => x.status === 'READY')?.id
      if (Date.now() > deadline) throw new Error(`no spare became ready: ${JSON.stringify(s)}`)
      if (!spare) await sleep(200)
    }
    const taken = takenPlaces(coffer, spare)
    assert.equal(taken.length, 1, `the spare's first address was found taken: ${JSON.stringify(taken)}`)

    const created = await api.api('POST', '/instances', createBody(redisProbe, 'race-spare'))
    const inst = (await api.waitActive(created.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.equal(inst.id, spare, 'the create claimed the spare')
    assert.notEqual(inst.ip[0], taken[0]!.host)
    assert.ok(await redisProbe.canUse(at(inst), 'app', 'app-Passw0rd'))
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })
})

describe('a port taken between placement and start, without an address pool', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await session({ COFFER_TAKE_PORT_AFTER_PLACE: '1', COFFER_INSTANCE_NETWORK: 'off' }))
  })
  after(async () => coffer?.destroy())

  it('moves the instance to another port of the node\'s address', async () => {
    const created = await api.api('POST', '/instances', createBody(redisProbe, 'race-port'))
    const inst = (await api.waitActive(created.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    const taken = takenPlaces(coffer, inst.id)
    assert.equal(taken.length, 1, `one place found taken: ${JSON.stringify(taken)}`)
    assert.deepEqual(inst.ip, ['127.0.0.1'])
    assert.equal(taken[0]!.host, '127.0.0.1')
    assert.notEqual(inst.port, taken[0]!.port, 'the instance left the taken port')
    assert.ok(await redisProbe.canUse(at(inst), 'app', 'app-Passw0rd'))
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })
})
