/**
 * The writer address of a replica set (HAProxy on the source's node), on PostgreSQL: clients
 * connected to it write to the source; after a promote the same address reaches the new source,
 * and sessions to the old one are cut; HAProxy killed comes back, outlives the server and follows
 * the home's shutdown --all; an automatic failover points it at the promoted replica; an
 * instance's OS account cannot read its configuration; the set's deletion leaves nothing listening and no HAProxy behind. A
 * Redis set's writer address is switched by its promote too.
 */
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)

const PASSWORD = 'app-Passw0rd'
const POOL = '127.77.0.0/16'

type Place = { host: string; port: number }

async function client(at: Place): Promise<pg.Client> {
  const c = new pg.Client({ ...at, user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 3000 })
  await c.connect()
  c.on('error', () => undefined)
  return c
}

async function query(at: Place, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = await client(at)
  try {
    return (await c.query(sql, params)).rows
  } finally {
    await c.end().catch(() => undefined)
  }
}

const accepts = (at: Place): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(at)
    s.setTimeout(1000, () => s.destroy())
    s.on('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
    s.on('close', () => resolve(false))
  })

/** Pids of processes running `config` (HAProxy's master and worker), with their real uid. */
function haproxies(config: string): { pid: number; uid: number }[] {
  const found: { pid: number; uid: number }[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(config)) continue
      if (readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z') continue
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1])
      found.push({ pid: Number(name), uid })
    } catch {
      // ended while we looked
    }
  }
  return found
}

describe('the writer address of a replica set', () => {
  let coffer: CofferProcess
  let api: TestClient
  let config: string
  let squatter: Server | undefined

  before(async () => {
    // A loopback pool of its own: other homes on this machine (other tests) place instances on the
    // default pool's low addresses, and one may take a writer address the moment HAProxy lets it go.
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_FAILOVER_SECONDS: '2', COFFER_INSTANCE_NETWORK: POOL }))
    config = join(coffer.home, 'writer-proxy', 'haproxy.cfg')
  })
  after(async () => {
    squatter?.close()
    await coffer?.destroy()
  })

  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
  const show = async (id: string) => (await api.api('GET', `/instances/${id}`)).body.instance
  const placeOf = (i: any): Place => ({ host: i.ip[0], port: i.port })
  let source: any
  let replica: any
  let writer: Place

  it('is given when the set forms, the same on every member, and reaches the source', async () => {
    const a = await api.api('POST', '/instances', {
      instance: { name: 'w-a', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'postgresql', version: '15' }, databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] },
    })
    assert.equal(a.status, 200, JSON.stringify(a.body))
    source = await settled(a.body.instance.id)
    assert.equal(source.status, 'ACTIVE')
    assert.equal(source.endpoints, undefined, 'a standalone instance has no writer address')
    replica = await settled((await api.api('POST', '/instances', { instance: { name: 'w-b', replica_of: source.id } })).body.instance.id)
    assert.equal(replica.status, 'ACTIVE', JSON.stringify(replica))
    source = await show(source.id)
    assert.ok(source.endpoints?.writer, JSON.stringify(source))
    assert.deepEqual(replica.endpoints, source.endpoints)
    writer = { host: source.endpoints.writer.address, port: source.endpoints.writer.port }
    assert.notEqual(writer.host, source.ip[0], 'the writer address is not the source’s own')
    assert.notEqual(writer.host, replica.ip[0])

    await query(writer, 'CREATE TABLE t (n int primary key, at text)')
    await query(writer, "INSERT INTO t VALUES (1, 'a')")
    const [on] = await query(writer, 'SELECT pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr')
    assert.deepEqual(on, { standby: false, addr: source.ip[0] })
    assert.deepEqual(await query(placeOf(source), 'SELECT n FROM t'), [{ n: 1 }])
  })

  it('runs HAProxy unprivileged, its configuration out of reach of instance accounts', async () => {
    const procs = haproxies(config)
    assert.ok(procs.length >= 2, `a master and a worker: ${JSON.stringify(procs)}`)
    const haproxyUid = Number(spawnSync('id', ['-u', 'haproxy'], { encoding: 'utf8' }).stdout.trim())
    const master = Number(readFileSync(join(coffer.home, 'writer-proxy', 'haproxy.pid'), 'utf8'))
    for (const p of procs.filter((x) => x.pid !== master)) assert.equal(p.uid, haproxyUid, 'the worker runs as haproxy')
    // The engine's own account (the owner of its data) tries to read HAProxy's configuration.
    const owner = statSync(join(coffer.home, 'instances', source.id, 'volume', 'data'))
    assert.notEqual(owner.uid, 0)
    const read = spawnSync('cat', [config], { uid: owner.uid, gid: owner.gid, encoding: 'utf8' })
    assert.notEqual(read.status, 0, 'an instance account cannot read the HAProxy configuration')
    assert.match(read.stderr, /Permission denied/)
    assert.match(readFileSync(config, 'utf8'), new RegExp(`bind ${writer.host}:${writer.port}`))
  })

  it('reaches the new source after a promote, and cuts sessions to the old one', async () => {
    const held = await client(writer)
    assert.deepEqual((await held.query('SELECT count(*)::int AS n FROM t')).rows, [{ n: 1 }])
    const r = await api.api('POST', `/instances/${replica.id}/action`, { promote_to_replica_source: {} })
    assert.equal(r.status, 202, JSON.stringify(r.body))
    const b = await settled(replica.id)
    const a = await settled(source.id)
    assert.equal(b.status, 'ACTIVE', JSON.stringify(b))
    assert.equal(b.replica_of, undefined)
    assert.equal(a.replica_of?.id, b.id)
    assert.deepEqual(b.endpoints, a.endpoints, 'the writer address is the set’s, the same on both')
    assert.deepEqual(b.endpoints.writer, { address: writer.host, port: writer.port }, 'and unchanged')
    await assert.rejects(held.query("INSERT INTO t VALUES (99, 'held')"), 'a session to the old source is cut')
    await held.end().catch(() => undefined)

    const [on] = await query(writer, 'SELECT pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr')
    assert.deepEqual(on, { standby: false, addr: b.ip[0] }, 'the writer address reaches the new source')
    await query(writer, "INSERT INTO t VALUES (2, 'b')")
    assert.deepEqual(await query(placeOf(b), 'SELECT n FROM t ORDER BY n'), [{ n: 1 }, { n: 2 }])
    const switched = /HAProxy switched in (\d+) ms/.exec(coffer.output())
    assert.ok(switched, 'the switch is logged')
    assert.doesNotMatch(coffer.output(), /switching at run time failed/, 'switched at run time, not by a restart')
    console.log(`# writer address: HAProxy switched to the promoted source in ${switched[1]} ms`)
    ;[source, replica] = [b, a]
  })

  it('is served again when HAProxy is killed', async () => {
    const master = Number(readFileSync(join(coffer.home, 'writer-proxy', 'haproxy.pid'), 'utf8'))
    for (const p of haproxies(config)) process.kill(p.pid, 'SIGKILL')
    let back = false
    for (let i = 0; i < 100 && !back; i++) {
      await sleep(100)
      const now = Number(readFileSync(join(coffer.home, 'writer-proxy', 'haproxy.pid'), 'utf8').trim() || 0)
      back = now !== master && (await accepts(writer))
    }
    assert.ok(back, 'the node started HAProxy again')
    const [on] = await query(writer, 'SELECT pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr')
    assert.deepEqual(on, { standby: false, addr: source.ip[0] })
  })

  it('outlives the server, stops with shutdown --all and comes back with serve', async () => {
    const pidFile = join(coffer.home, 'writer-proxy', 'haproxy.pid')
    const master = Number(readFileSync(pidFile, 'utf8'))
    await coffer.kill('SIGKILL')
    assert.ok(await accepts(writer), 'HAProxy serves on without the server')
    await coffer.restart({ COFFER_FAILOVER_SECONDS: '2', COFFER_INSTANCE_NETWORK: POOL })
    assert.equal(Number(readFileSync(pidFile, 'utf8')), master, 'the node takes the running HAProxy over')
    assert.ok(haproxies(config).some((p) => p.pid === master))

    await run(COFFER_BIN, ['shutdown', '--all', '--home', coffer.home], { env: { ...process.env, COFFER_HOME: coffer.home }, timeout: 300_000 })
    await new Promise((r) => (coffer.child.exitCode !== null || coffer.child.signalCode !== null ? r(undefined) : coffer.child.once('exit', r)))
    assert.deepEqual(haproxies(config), [], 'shutdown --all stops HAProxy')
    assert.equal(await accepts(writer), false)
    await coffer.restart({ COFFER_FAILOVER_SECONDS: '2', COFFER_INSTANCE_NETWORK: POOL })
    assert.equal((await api.waitActive(source.id)).body.instance.status, 'ACTIVE')
    let back = false
    for (let i = 0; i < 100 && !back; i++) back = (await accepts(writer)) || (await sleep(100).then(() => false))
    assert.ok(back, 'the node starts HAProxy again from what it recorded')
    let wrote = false
    for (let i = 0; i < 100 && !wrote; i++) wrote = await query(writer, "INSERT INTO t VALUES (3, 'after-restart')").then(() => true, () => sleep(100).then(() => false))
    assert.ok(wrote, 'writes go through the writer address again')
  })

  it('reaches the replica promoted by an automatic failover', async () => {
    const r = await api.api('PUT', `/instances/${source.id}`, { instance: { auto_failover: true } })
    assert.ok([200, 202].includes(r.status), JSON.stringify(r.body))
    // The source's engine dies and another program takes its place: the node's restarts fail.
    const pid = Number(readFileSync(join(coffer.home, 'instances', source.id, 'volume', 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGKILL')
    const killedAt = Date.now()
    squatter = createServer((s) => s.destroy())
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => squatter!.once('error', () => resolve(false)).listen(source.port, source.ip[0], () => resolve(true)))
      if (ok) break
      await sleep(20)
    }
    // A client writing through the writer address all along: it writes again once a replica is the source.
    let wrote = false
    for (let n = 100; !wrote && Date.now() - killedAt < 60_000; n++) {
      wrote = await query(writer, 'INSERT INTO t VALUES ($1, $2)', [n, 'after-failover']).then(
        () => true,
        () => sleep(50).then(() => false),
      )
    }
    const tookMs = Date.now() - killedAt
    assert.ok(wrote, 'the writer address takes writes again')
    const [on] = await query(writer, 'SELECT pg_is_in_recovery() AS standby, host(inet_server_addr()) AS addr')
    assert.deepEqual(on, { standby: false, addr: replica.ip[0] }, 'the writer address reaches the promoted replica')
    const switches = [...coffer.output().matchAll(/HAProxy switched in (\d+) ms/g)]
    console.log(`# writer address: source's engine SIGKILLed to writes accepted through the writer address in ${(tookMs / 1000).toFixed(1)} s (HAProxy switched in ${switches.at(-1)?.[1]} ms)`)
    const promoted = await api.waitFor(replica.id, (x) => x.body.instance.status === 'ACTIVE' && !x.body.instance.replica_of, 60_000)
    assert.deepEqual(promoted.body.instance.endpoints.writer, { address: writer.host, port: writer.port })
    const old = await api.waitFor(source.id, (x) => x.body.instance.status === 'ERROR', 30_000)
    assert.equal(old.body.instance.endpoints, undefined, 'the ejected source is out of the set and its writer address')
    squatter.close()
    squatter = undefined
    ;[source, replica] = [promoted.body.instance, old.body.instance]
  })

  it('goes with the set: nothing listens there and no HAProxy is left', async () => {
    await api.api('DELETE', `/instances/${replica.id}`)
    await api.waitGone(replica.id)
    assert.ok(await accepts(writer), 'a source left alone keeps its writer address')
    await api.api('DELETE', `/instances/${source.id}`)
    await api.waitGone(source.id)
    assert.equal(await accepts(writer), false, 'nothing listens on the writer address')
    assert.deepEqual(haproxies(config), [], 'no HAProxy process is left')
    assert.doesNotMatch(readFileSync(config, 'utf8'), /frontend/)
  })

  it('does the same for a Redis set', async () => {
    const w = await redisSetSwitches(api, config)
    assert.equal(w.port, 6379, 'a pool address on the engine’s standard port')
  })
})

describe('the writer address of a replica set placed without an address pool', () => {
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_INSTANCE_NETWORK: 'off' }))
  })
  after(async () => {
    await coffer?.destroy()
  })

  it('is the node’s address with a port of its range', async () => {
    const w = await redisSetSwitches(api, join(coffer.home, 'writer-proxy', 'haproxy.cfg'))
    assert.equal(w.host, '127.0.0.1')
    assert.notEqual(w.port, 6379)
  })

  it('is removed by coffer uninstall with the rest of the home', async () => {
    const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
    const a = await api.api('POST', '/instances', { instance: { name: 'wu-a', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis', version: '7.0' }, users: [{ name: 'app', password: PASSWORD, databases: [] }] } })
    assert.equal((await settled(a.body.instance.id)).status, 'ACTIVE')
    const b = await settled((await api.api('POST', '/instances', { instance: { name: 'wu-b', replica_of: a.body.instance.id } })).body.instance.id)
    const w = { host: b.endpoints.writer.address, port: b.endpoints.writer.port }
    assert.ok(await accepts(w))
    const config = join(coffer.home, 'writer-proxy', 'haproxy.cfg')
    await run(COFFER_BIN, ['uninstall', '--yes', '--home', coffer.home], { env: { ...process.env, COFFER_HOME: coffer.home }, timeout: 300_000 })
    await new Promise((r) => (coffer.child.exitCode !== null || coffer.child.signalCode !== null ? r(undefined) : coffer.child.once('exit', r)))
    assert.deepEqual(haproxies(config), [], 'no HAProxy is left')
    assert.equal(await accepts(w), false, 'nothing listens on the writer address')
    assert.equal(existsSync(coffer.home), false)
  })
})

/**
 * A Redis set formed, written through its writer address, promoted, written through it again (the
 * old source, a replica now, would refuse: READONLY), and deleted: nothing listens there after.
 */
async function redisSetSwitches(api: TestClient, config: string): Promise<Place> {
  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
  const set = async (at: Place, key: string): Promise<void> => {
    const r = new Redis({ ...at, username: 'app', password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
    r.on('error', () => undefined)
    await r.connect()
    try {
      await r.set(key, 'x')
    } finally {
      r.disconnect()
    }
  }
  const a = await api.api('POST', '/instances', { instance: { name: 'wr-a', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis', version: '7.0' }, users: [{ name: 'app', password: PASSWORD, databases: [] }] } })
  assert.equal(a.status, 200, JSON.stringify(a.body))
  assert.equal((await settled(a.body.instance.id)).status, 'ACTIVE')
  const b = await settled((await api.api('POST', '/instances', { instance: { name: 'wr-b', replica_of: a.body.instance.id } })).body.instance.id)
  assert.equal(b.status, 'ACTIVE', JSON.stringify(b))
  const w = { host: b.endpoints.writer.address, port: b.endpoints.writer.port }
  assert.notDeepEqual(w, { host: b.ip[0], port: b.port })
  await set(w, 'before')
  assert.equal((await api.api('POST', `/instances/${b.id}/action`, { promote_to_replica_source: {} })).status, 202)
  assert.equal((await settled(b.id)).status, 'ACTIVE')
  assert.equal((await settled(a.body.instance.id)).replica_of?.id, b.id)
  await set(w, 'after')
  for (const id of [a.body.instance.id, b.id]) {
    await api.api('DELETE', `/instances/${id}`)
    await api.waitGone(id)
  }
  assert.equal(await accepts(w), false)
  assert.deepEqual(haproxies(config), [])
  return w
}
