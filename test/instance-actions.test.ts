/**
 * Instance actions on real engines: resize to another flavor (data kept, the engine retuned), stop
 * and start (a stopped engine stays stopped across heartbeats), access held by the engine itself
 * (a client from an allowed loopback address gets in, one from another is refused by the
 * database), and bad input that changes nothing.
 */
import assert from 'node:assert/strict'
import { connect, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { at, type Where } from './helpers/engines.js'
import type { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const PASSWORD = 'app-Passw0rd'

/** An instance's address and port (a bare port: on 127.0.0.1). */
const where = (w: Where) => (typeof w === 'number' ? { host: '127.0.0.1', port: w } : w)

/** A pg client whose connection leaves from `localAddress` (pg.Client has no such option). */
export function pgFrom(to: Where, localAddress = '127.0.0.1', database = 'app'): pg.Client {
  const { host, port } = where(to)
  const stream = () => {
    const s = new Socket()
    const connect = s.connect.bind(s) as (o: object) => Socket
    ;(s as unknown as { connect: (port: number, host: string) => Socket }).connect = (p, host) => connect({ port: p, host, localAddress })
    return s
  }
  return new pg.Client({ host, port, user: 'app', password: PASSWORD, database, stream, connectionTimeoutMillis: 5000 } as pg.ClientConfig)
}

async function pgQuery(port: Where, sql: string, from?: string): Promise<any[]> {
  const c = pgFrom(port, from)
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

async function mariaQuery(to: Where, sql: string, localAddress = '127.0.0.1'): Promise<any[]> {
  const { host, port } = where(to)
  // mysql2 takes a localAddress option but does not use it: the socket is made here.
  const stream = connect({ port, host, localAddress })
  const c = await mysql.createConnection({ stream, user: 'app', password: PASSWORD, database: 'app', connectTimeout: 5000 })
  try {
    return (await c.query(sql))[0] as any[]
  } finally {
    await c.end()
  }
}

async function redisCall<T>(to: Where, user: string, password: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const { host, port } = where(to)
  const r = new Redis({ host, port, username: user, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  await r.connect()
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

const refused = async (fn: () => Promise<unknown>): Promise<boolean> => fn().then(() => false, () => true)

interface EngineCase {
  readonly type: string
  readonly schema: boolean
  write(port: Where): Promise<void>
  read(port: Where): Promise<string>
  /** The value the engine runs with that the flavor decides, read with its own client. */
  tuned(api: TestClient, id: string, port: Where): Promise<string>
}

const engines: EngineCase[] = [
  {
    type: 'postgresql',
    schema: true,
    write: async (port) => void (await pgQuery(port, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')")),
    read: async (port) => String((await pgQuery(port, 'SELECT v FROM kept'))[0]?.v),
    tuned: async (_api, _id, port) => String((await pgQuery(port, "SELECT current_setting('shared_buffers') AS v"))[0].v),
  },
  {
    type: 'mariadb',
    schema: true,
    write: async (port) => {
      await mariaQuery(port, 'CREATE TABLE kept (v text)')
      await mariaQuery(port, "INSERT INTO kept VALUES ('before')")
    },
    read: async (port) => String((await mariaQuery(port, 'SELECT v FROM kept'))[0]?.v),
    tuned: async (_api, _id, port) => String((await mariaQuery(port, 'SELECT @@global.innodb_buffer_pool_size AS v'))[0].v),
  },
  {
    type: 'redis',
    schema: false,
    write: (port) => redisCall(port, 'app', PASSWORD, async (r) => void (await r.set('kept', 'before'))),
    read: (port) => redisCall(port, 'app', PASSWORD, async (r) => String(await r.get('kept'))),
    async tuned(api, id, port) {
      const root = (await api.api('POST', `/instances/${id}/root`)).body.user
      return redisCall(port, root.name, root.password, async (r) => String(((await r.config('GET', 'maxmemory')) as string[])[1]))
    },
  },
]

const createBody = (type: string, schema: boolean, extra: Record<string, unknown> = {}) => ({
  instance: {
    name: `act-${type}`,
    flavorRef: '1',
    volume: { size: 1 },
    datastore: { type },
    ...(schema ? { databases: [{ name: 'app' }] } : {}),
    users: [{ name: 'app', password: PASSWORD, databases: schema ? [{ name: 'app' }] : [] }],
    ...extra,
  },
})

async function create(api: TestClient, type: string, schema: boolean, extra: Record<string, unknown> = {}) {
  const r = await api.api('POST', '/instances', createBody(type, schema, extra))
  assert.equal(r.status, 200, JSON.stringify(r.body))
  const inst = (await api.waitActive(r.body.instance.id)).body.instance
  assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
  return inst
}

const action = (api: TestClient, id: string, body: unknown) => api.api('POST', `/instances/${id}/action`, body)
const show = async (api: TestClient, id: string) => (await api.api('GET', `/instances/${id}`)).body.instance

describe('instance actions', () => {
  let coffer: CofferProcess
  let api: TestClient
  const ids: Record<string, { id: string; port: Where }> = {}
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => coffer?.destroy())

  for (const e of engines) {
    it(`resizes a ${e.type} instance to a larger flavor: data kept, engine retuned, one restart`, async () => {
      const inst = await create(api, e.type, e.schema)
      ids[e.type] = { id: inst.id, port: at(inst) }
      await e.write(at(inst))
      const before = await e.tuned(api, inst.id, at(inst))

      assert.equal((await action(api, inst.id, { resize: { flavorRef: '2' } })).status, 202)
      assert.equal((await show(api, inst.id)).status, 'RESIZE')
      const done = (await api.waitActive(inst.id)).body.instance
      assert.equal(done.status, 'ACTIVE', JSON.stringify(done))
      assert.equal(done.flavor.id, '2')
      assert.equal(await e.read(at(inst)), 'before', 'data survives the resize')
      const afterResize = await e.tuned(api, inst.id, at(inst))
      assert.notEqual(afterResize, before, `the flavor-derived setting changed (${before} → ${afterResize})`)
    })
  }

  it('refuses bad resizes with Trove\'s codes and changes nothing', async () => {
    const { id } = ids.postgresql!
    const huge = await api.api('POST', '/flavors', { flavor: { id: 'act-huge', name: 'act-huge', ram: 1024 * 1024, vcpus: 1 } })
    assert.equal(huge.status, 200, JSON.stringify(huge.body))
    const small = await api.api('POST', '/flavors', { flavor: { id: 'act-small', name: 'act-small', ram: 200, vcpus: 1 } })
    assert.equal(small.status, 200, JSON.stringify(small.body))
    const cases: [unknown, number, RegExp, string?][] = [
      [{ resize: { flavorRef: '2' } }, 400, /must be different/],
      [{ resize: { flavorRef: 'no-such-flavor' } }, 400, /no-such-flavor cannot be found/],
      [{ resize: {} }, 400, /flavorRef/],
      [{ resize: { flavorRef: 'act-huge' } }, 413, /larger than any node/],
      [{ resize: { flavorRef: 'act-small' } }, 400, /mariadb needs at least 256 MB/, 'mariadb'],
    ]
    for (const [body, status, message, on] of cases) {
      const target = ids[on ?? 'postgresql']!.id
      const r = await action(api, target, body)
      assert.equal(r.status, status, JSON.stringify(r.body))
      assert.match(JSON.stringify(r.body), message)
      const now = await show(api, target)
      assert.equal(now.status, 'ACTIVE', JSON.stringify(now))
      assert.equal(now.flavor.id, '2')
    }
    // A group whose buffers need more than the flavor has.
    const group = await api.api('POST', '/configurations', { configuration: { name: 'big-buffers', values: { shared_buffers: 65536 }, datastore: { type: 'postgresql' } } })
    assert.equal(group.status, 200, JSON.stringify(group.body))
    assert.equal((await api.api('PUT', `/instances/${id}`, { instance: { configuration: group.body.configuration.id } })).status, 202)
    const settled = (s: string) => s === 'ACTIVE' || s === 'RESTART_REQUIRED'
    await api.waitFor(id, (r) => settled(r.body.instance.status) && !!r.body.instance.configuration)
    const tooSmall = await action(api, id, { resize: { flavorRef: '1' } })
    assert.equal(tooSmall.status, 400, JSON.stringify(tooSmall.body))
    assert.match(tooSmall.body.badRequest.message, /too little for the attached configuration group \(shared_buffers 512 MB\)/)
    assert.equal((await api.api('PUT', `/instances/${id}`, { instance: { configuration: null } })).status, 202)
    await api.waitFor(id, (r) => settled(r.body.instance.status) && !r.body.instance.configuration)
  })

  it('stops an instance for good and starts it again, data kept', async () => {
    const { id, port } = ids.postgresql!
    assert.equal((await action(api, id, { stop: {} })).status, 202)
    await api.waitFor(id, (r) => r.body.instance.status === 'SHUTDOWN' && r.body.instance.operating_status === 'SHUTDOWN')
    assert.equal(await refused(() => pgQuery(port, 'SELECT 1')), true, 'the engine is stopped')
    // Several heartbeats (500 ms here): the supervisor must not start it again.
    await sleep(3000)
    assert.equal((await show(api, id)).status, 'SHUTDOWN')
    assert.equal(await refused(() => pgQuery(port, 'SELECT 1')), true, 'still stopped')

    const notNow: [unknown, RegExp][] = [
      [{ resize: { flavorRef: '3' } }, /not ACTIVE/],
      [{ restart: {} }, /not ready/],
      [{ stop: {} }, /stopped already/],
    ]
    for (const [body, message] of notNow) {
      const r = await action(api, id, body)
      assert.equal(r.status, 422, JSON.stringify(r.body))
      assert.match(r.body.unprocessableEntity.message, message)
    }
    assert.equal((await show(api, id)).flavor.id, '2')

    assert.equal((await action(api, id, { start: {} })).status, 202)
    const started = (await api.waitActive(id)).body.instance
    assert.equal(started.status, 'ACTIVE', JSON.stringify(started))
    assert.deepEqual(at(started), port, 'same address and port')
    assert.equal(String((await pgQuery(port, 'SELECT v FROM kept'))[0].v), 'before')
    assert.equal((await action(api, id, { start: {} })).status, 422, 'started already')
  })

  it('holds PostgreSQL clients to allowed_cidrs given at create, and to new ones after an update', async () => {
    const inst = await create(api, 'postgresql', true, { name: 'act-pg-access', access: { allowed_cidrs: ['127.0.0.2/32'] } })
    assert.deepEqual(inst.access, { is_public: false, allowed_cidrs: ['127.0.0.2/32'] })
    assert.deepEqual((await pgQuery(at(inst), 'SELECT 1 AS one', '127.0.0.2'))[0], { one: 1 })
    await assert.rejects(pgQuery(at(inst), 'SELECT 1', '127.0.0.3'), /no pg_hba.conf entry for host "127.0.0.3"/)

    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { access: { allowed_cidrs: ['127.0.0.3/32'] } } })).status, 202)
    await api.waitFor(inst.id, (r) => r.body.instance.status === 'ACTIVE' && r.body.instance.access.allowed_cidrs?.[0] === '127.0.0.3/32')
    await assert.rejects(pgQuery(at(inst), 'SELECT 1', '127.0.0.2'), /no pg_hba.conf entry for host "127.0.0.2"/)
    assert.deepEqual((await pgQuery(at(inst), 'SELECT 1 AS one', '127.0.0.3'))[0], { one: 1 })

    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { access: { allowed_cidrs: [] } } })).status, 202)
    await api.waitFor(inst.id, (r) => r.body.instance.status === 'ACTIVE' && r.body.instance.access.allowed_cidrs === undefined)
    assert.deepEqual((await pgQuery(at(inst), 'SELECT 1 AS one', '127.0.0.2'))[0], { one: 1 }, 'an empty list lets every address in')
    await api.api('DELETE', `/instances/${inst.id}`)
  })

  it('holds MariaDB clients to allowed_cidrs', async () => {
    const { id, port } = ids.mariadb!
    assert.equal((await api.api('PATCH', `/instances/${id}`, { instance: { access: { allowed_cidrs: ['127.0.0.2'] } } })).status, 202)
    await api.waitFor(id, (r) => r.body.instance.status === 'ACTIVE' && r.body.instance.access.allowed_cidrs?.[0] === '127.0.0.2/32')
    assert.equal(String((await mariaQuery(port, 'SELECT v FROM kept', '127.0.0.2'))[0].v), 'before')
    assert.equal(await refused(() => mariaQuery(port, 'SELECT v FROM kept', '127.0.0.3')), true, 'refused by the server')
  })

  it('refuses access it cannot give, with a clear 400, changing nothing', async () => {
    const redis = ids.redis!.id
    const cases: [string, unknown, RegExp][] = [
      [redis, { allowed_cidrs: ['127.0.0.2/32'] }, /'redis' cannot hold clients to access.allowed_cidrs/],
      [ids.postgresql!.id, { is_public: true }, /is_public true needs an address from a node's pool/],
      [ids.postgresql!.id, { allowed_cidrs: ['10.0.0.0/99'] }, /is not a CIDR/],
      [ids.mariadb!.id, { allowed_cidrs: ['fd00::/8'] }, /only to IPv4 networks/],
    ]
    for (const [id, access, message] of cases) {
      const r = await api.api('PUT', `/instances/${id}`, { instance: { access } })
      assert.equal(r.status, 400, JSON.stringify(r.body))
      assert.match(r.body.badRequest.message, message)
      assert.equal((await show(api, id)).status, 'ACTIVE')
    }
    // The default pool is on loopback: its addresses are not public.
    const r = await api.api('POST', '/instances', createBody('postgresql', true, { name: 'public', access: { is_public: true } }))
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.match(r.body.badRequest.message, /COFFER_INSTANCE_NETWORK=CIDR@IFACE.*no node that is up and serves postgresql has one/)
    assert.equal((await api.api('GET', '/instances')).body.instances.filter((i: any) => i.name === 'public').length, 0)
  })

  it('does the same from the CLI, by names, with progress while waiting', async () => {
    const env = { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }
    const cli = async (...args: string[]) => promisify(execFile)(COFFER_BIN, args, { env, timeout: 120_000 })
    const { stderr } = await cli('resize-instance', 'act-redis', 'm1.tiny', '--wait')
    assert.match(stderr, /RESIZE.*\n.*ACTIVE \(\d+\.\d s\)/s, 'shows the status as it changes')
    assert.equal((await show(api, ids.redis!.id)).flavor.id, '1', 'the flavor found by name')
    await cli('stop', 'act-redis', '--wait')
    assert.equal((await show(api, ids.redis!.id)).status, 'SHUTDOWN')
    await cli('start', 'act-redis', '--wait')
    assert.equal((await show(api, ids.redis!.id)).status, 'ACTIVE')
    assert.equal(await redisCall(ids.redis!.port, 'app', PASSWORD, async (r) => String(await r.get('kept'))), 'before')
    await assert.rejects(cli('resize-instance', 'act-redis', 'no-such-flavor'), /no-such-flavor cannot be found/)
    await cli('update', 'act-mariadb', '--allow-any-address')
    await api.waitFor(ids.mariadb!.id, (r) => r.body.instance.status === 'ACTIVE' && r.body.instance.access.allowed_cidrs === undefined)
    assert.equal(String((await mariaQuery(ids.mariadb!.port, 'SELECT v FROM kept', '127.0.0.3'))[0].v), 'before', 'any address again')
  })
})
