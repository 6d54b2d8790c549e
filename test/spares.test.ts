/**
 * Spares: the node keeps ready instances per datastore, a create takes one, and the result is the
 * same working, hardened, tuned instance a cold create gives — through retuning for another
 * flavor, a configuration group, a crash mid-claim, and spares that are no longer wanted.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import { DEFAULT_SPARES } from '../src/config.js'
import { ADMIN_PASSWORD, engineMains, processesUnder, type CofferProcess } from './helpers/coffer-process.js'
import { at, mariadbProbe, postgresqlProbe, redisConfiguration, redisProbe, type EngineProbe } from './helpers/engines.js'

const SPARES = 'redis=2,postgresql=1,mariadb=1'

interface Spare {
  id: string
  datastore: { type: string }
  flavor: { id: string }
  status: string
}

describe('spares', () => {
  let coffer: CofferProcess
  let api: TestClient
  const spares = async (): Promise<{ pools: { datastore: string; wanted: number; ready: number; building: number }[]; spares: Spare[] }> =>
    (await api.api('GET', '/mgmt/spares')).body
  /** Resolves with the spares once every pool has what it wants, all of them ready. */
  const poolsFull = async (): Promise<Spare[]> => {
    const deadline = Date.now() + 120_000
    for (;;) {
      const s = await spares()
      if (s.pools.every((p) => p.ready === p.wanted && p.building === 0) && s.spares.every((x) => x.status === 'READY')) return s.spares
      if (Date.now() > deadline) throw new Error(`spares did not fill: ${JSON.stringify(s)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const readyOf = async (type: string) => (await poolsFull()).filter((s) => s.datastore.type === type).map((s) => s.id)
  const create = async (probe: EngineProbe, extra: Record<string, unknown> = {}) => {
    const schema = probe.datastore !== 'redis'
    const r = await api.api('POST', '/instances', {
      instance: {
        name: `spare-${probe.datastore}`,
        flavorRef: '1',
        volume: { size: 1 },
        datastore: { type: probe.datastore },
        ...(schema ? { databases: [{ name: 'app' }] } : {}),
        users: [{ name: 'app', password: 'app-Passw0rd', databases: schema ? [{ name: 'app' }] : [] }],
        ...extra,
      },
    })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const inst = (await api.waitActive(r.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    return inst
  }

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_SPARES: SPARES }))
  })
  after(async () => coffer?.destroy())

  it('keeps each pool full, with engines running as their own accounts, out of every project\'s sight', async () => {
    const ready = await poolsFull()
    assert.deepEqual(ready.map((s) => s.datastore.type).sort(), ['mariadb', 'postgresql', 'redis', 'redis'])
    for (const s of ready) {
      const mains = engineMains(join(coffer.home, 'instances', s.id))
      assert.equal(mains.length, 1, `one engine for spare ${s.id}`)
      const uid = readFileSync(`/proc/${mains[0]}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]
      assert.notEqual(uid, '0')
    }
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
    assert.equal((await api.api('GET', `/instances/${ready[0]?.id}`)).status, 404, 'not an instance of any project')
  })

  for (const probe of [redisProbe, postgresqlProbe, mariadbProbe]) {
    it(`a ${probe.datastore} create takes a ready spare and gives a working instance; the pool refills`, async () => {
      const before = await readyOf(probe.datastore)
      const inst = await create(probe)
      assert.ok(before.includes(inst.id), 'the instance is one of the spares')
      const db = probe.datastore === 'redis' ? undefined : 'app'
      assert.ok(await probe.canUse(at(inst), 'app', 'app-Passw0rd', db), 'the initial user works')
      assert.equal(await probe.canUse(at(inst), 'app', 'wrong-Passw0rd', db), false)
      const after = await readyOf(probe.datastore)
      assert.equal(after.length, before.length)
      assert.ok(!after.includes(inst.id), 'a new spare took its place')
    })
  }

  it('keeps the hardening on a claimed Redis spare: no login without a password', async () => {
    const inst = await create(redisProbe)
    assert.equal(await redisProbe.canUse(at(inst), 'default', ''), false)
    assert.equal(await redisProbe.isSuperuser(at(inst), 'app', 'app-Passw0rd'), false, 'the client user cannot CONFIG')
  })

  it('hands out no spare whose engine died, and gets the pool back to full working spares', async () => {
    const [victim, other] = await readyOf('redis')
    assert.ok(victim && other)
    const [pid] = engineMains(join(coffer.home, 'instances', victim))
    process.kill(pid ?? 0, 'SIGKILL')
    const deadline = Date.now() + 30_000
    while ((await spares()).spares.find((x) => x.id === victim)?.status === 'READY' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const inst = await create(redisProbe)
    assert.equal(inst.id, other, 'the healthy spare was taken')
    // The supervisor starts the dead engine again while the keeper may already have made a
    // replacement; then the oldest spare beyond the wanted number, the dead one, is retired.
    const ready = await readyOf('redis')
    assert.equal(ready.length, 2)
    for (const id of ready) assert.equal(engineMains(join(coffer.home, 'instances', id)).length, 1, `spare ${id} runs`)
    if (!ready.includes(victim)) assert.equal(existsSync(join(coffer.home, 'instances', victim)), false, 'the retired spare is gone')
  })

  it('retunes a spare of another flavor for the flavor asked', async () => {
    const spareFlavors = new Set((await poolsFull()).filter((s) => s.datastore.type === 'redis').map((s) => s.flavor.id))
    assert.deepEqual([...spareFlavors], ['1'])
    const inst = await create(redisProbe, { flavorRef: '2' })
    const expected = Math.floor(2048 * 0.6) * 1024 * 1024
    const root = (await api.api('POST', `/instances/${inst.id}/root`)).body.user
    assert.equal(await redisConfiguration.read(at(inst), root.name, root.password, 'maxmemory'), String(expected))
  })

  it('brings a configuration group given at create to the spare', async () => {
    const group = (await api.api('POST', '/configurations', { configuration: { name: 'spare-group', values: { timeout: 321 }, datastore: { type: 'redis' } } })).body.configuration
    const inst = await create(redisProbe, { configuration: group.id })
    const root = (await api.api('POST', `/instances/${inst.id}/root`)).body.user
    assert.equal(await redisConfiguration.read(at(inst), root.name, root.password, 'timeout'), '321')
  })

  it('takes no spare for a create it refuses', async () => {
    const before = await readyOf('redis')
    const r = await api.api('POST', '/instances', { instance: { name: 'bad', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'default', password: 'x' }] } })
    assert.equal(r.status, 400)
    assert.deepEqual((await spares()).spares.filter((s) => s.datastore.type === 'redis').map((s) => s.id), before)
  })

  it('keeps its spares across a restart, and resumes a claim that a crash cut short, to one working instance', async () => {
    const before = (await poolsFull()).map((s) => s.id)
    await coffer.kill('SIGTERM')
    await coffer.restart({ COFFER_SPARES: SPARES, COFFER_CRASH_AFTER_STEP: 'create-instance:guest-prepare' })
    const exited = new Promise((r) => coffer.child.once('exit', r))
    const r = await api.api('POST', '/instances', {
      instance: { name: 'crashy', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'app', password: 'app-Passw0rd', databases: [] }] },
    })
    assert.equal(r.status, 200)
    assert.ok(before.includes(r.body.instance.id), 'a spare from before the restart was claimed')
    await exited
    await coffer.restart({ COFFER_SPARES: SPARES })
    const inst = (await api.waitActive(r.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.ok(await redisProbe.canUse(at(inst), 'app', 'app-Passw0rd'))
    assert.equal(engineMains(join(coffer.home, 'instances', inst.id)).length, 1)
  })

  it('replaces the spares of a flavor that is deleted', async () => {
    for (const i of (await api.api('GET', '/instances')).body.instances) await api.api('DELETE', `/instances/${i.id}`)
    for (const i of (await api.api('GET', '/instances')).body.instances) await api.waitGone(i.id)
    const old = (await poolsFull()).filter((s) => s.flavor.id === '1').map((s) => s.id)
    assert.ok(old.length > 0)
    assert.equal((await api.api('DELETE', '/flavors/1')).status, 202)
    const now = await poolsFull()
    assert.deepEqual(now.filter((s) => old.includes(s.id)), [])
    assert.ok(now.every((s) => s.flavor.id === '2'), JSON.stringify(now))
    for (const id of old) assert.equal(existsSync(join(coffer.home, 'instances', id)), false, `spare ${id} was removed`)
  })

  it('replaces, after an upgrade, the spares that the older build made', async () => {
    const old = (await poolsFull()).map((s) => s.id)
    await coffer.kill('SIGTERM')
    await coffer.restart({ COFFER_SPARES: SPARES, COFFER_BUILD_ID: 'a-newer-build' })
    const deadline = Date.now() + 120_000
    let now = await poolsFull()
    while (now.some((s) => old.includes(s.id)) && Date.now() < deadline) now = await poolsFull()
    assert.deepEqual(now.filter((s) => old.includes(s.id)), [])
    assert.equal(now.length, old.length)
    for (const id of old) assert.equal(existsSync(join(coffer.home, 'instances', id)), false, `old spare ${id} was removed`)
  })

  it('takes spares down when they are no longer wanted', async () => {
    const left = (await poolsFull()).map((s) => s.id)
    await coffer.kill('SIGTERM')
    await coffer.restart({ COFFER_SPARES: 'none' })
    const deadline = Date.now() + 60_000
    while ((await spares()).spares.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual((await spares()).spares, [])
    for (const id of left) {
      assert.equal(existsSync(join(coffer.home, 'instances', id)), false)
      assert.deepEqual(processesUnder(join(coffer.home, 'instances', id)), [])
    }
  })
})

describe('spares through a crash', () => {
  let coffer: CofferProcess
  after(async () => coffer?.destroy())

  it('finishes a spare whose build a crash cut short, and makes no second one', async () => {
    let api: TestClient
    ;({ coffer, api } = await startCofferAsAdmin())
    await coffer.kill('SIGTERM')
    // The server may die before the helper sees it listen: the spare's build starts right away.
    await coffer.restart({ COFFER_SPARES: 'redis=1', COFFER_CRASH_AFTER_STEP: 'create-instance:create-envelope' }).catch(() => undefined)
    await new Promise((r) => (coffer.child.exitCode === null && coffer.child.signalCode === null ? coffer.child.once('exit', r) : r(undefined)))
    assert.equal(readdirSync(join(coffer.home, 'instances')).length, 1, 'the crash left one envelope behind')
    await coffer.restart({ COFFER_SPARES: 'redis=1' })
    const deadline = Date.now() + 60_000
    let body
    do {
      await new Promise((r) => setTimeout(r, 200))
      body = (await api.api('GET', '/mgmt/spares')).body
    } while (!(body.pools[0]?.ready === 1 && body.spares.length === 1) && Date.now() < deadline)
    assert.equal(body.spares.length, 1, JSON.stringify(body))
    assert.equal(body.spares[0].status, 'READY')
    assert.deepEqual(readdirSync(join(coffer.home, 'instances')), [body.spares[0].id], 'one envelope, the spare\'s')
    assert.equal(engineMains(join(coffer.home, 'instances', body.spares[0].id)).length, 1)
  })
})

describe('spares by default (COFFER_SPARES=on-demand)', () => {
  let coffer: CofferProcess
  let api: TestClient
  const spares = async (): Promise<{ pools: { datastore: string; wanted: number; ready: number }[]; spares: Spare[] }> => (await api.api('GET', '/mgmt/spares')).body
  const wanted = (body: Awaited<ReturnType<typeof spares>>) => Object.fromEntries(body.pools.map((p) => [p.datastore, p.wanted]))
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_SPARES: DEFAULT_SPARES }))
  })
  after(async () => coffer?.destroy())

  it('a fresh server runs no spare; the first Redis create brings one Redis spare and none of the others, and a restart remembers', async () => {
    // The keeper looks every second: give it a few looks to (not) start anything.
    await new Promise((r) => setTimeout(r, 3000))
    let body = await spares()
    assert.deepEqual(body.spares, [])
    assert.ok(Object.values(wanted(body)).every((n) => n === 0), JSON.stringify(body.pools))
    // The node builds its engine templates once, in processes that end; no engine stays running.
    const quiet = Date.now() + 120_000
    while (processesUnder(coffer.home).length > 0 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 500))
    assert.deepEqual(processesUnder(coffer.home), [], 'no engine runs on a fresh home')
    assert.deepEqual((await spares()).spares, [])

    const r = await api.api('POST', '/instances', { instance: { name: 'first', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'app', password: 'app-Passw0rd' }] } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal((await api.waitActive(r.body.instance.id)).body.instance.status, 'ACTIVE')
    const deadline = Date.now() + 60_000
    do {
      await new Promise((r) => setTimeout(r, 200))
      body = await spares()
    } while (!body.spares.some((s) => s.status === 'READY') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 2000))
    body = await spares()
    assert.deepEqual(body.spares.map((s) => [s.datastore.type, s.status]), [['redis', 'READY']])
    assert.equal(wanted(body).redis, 1)
    assert.equal(wanted(body).postgresql ?? 0, 0)
    assert.equal(wanted(body).mariadb ?? 0, 0)

    // Used is remembered by the state store, not by the instance: delete it and restart.
    await api.api('DELETE', `/instances/${r.body.instance.id}`)
    await api.waitGone(r.body.instance.id)
    await coffer.kill('SIGTERM')
    await coffer.restart({ COFFER_SPARES: DEFAULT_SPARES })
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    body = await spares()
    assert.equal(wanted(body).redis, 1)
    assert.deepEqual(body.spares.map((s) => s.datastore.type), ['redis'])
  })
})
