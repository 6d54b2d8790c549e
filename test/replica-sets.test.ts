/**
 * Replica sets through the API on each engine's own replication: a replica made with only
 * `replica_of` sees rows written before and after it existed and refuses writes; the set shows in
 * GET; a source with replicas cannot be deleted; a planned promote loses no committed row and the
 * old source follows the new one; a detach makes a replica writable on its own; an eject replaces
 * a lost source with its replica.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, type Where } from './helpers/engines.js'

const PASSWORD = 'app-Passw0rd'
const host = (w: Where) => (typeof w === 'number' ? { host: '127.0.0.1', port: w } : w)

interface Engine {
  readonly type: string
  readonly version: string
  readonly body: Record<string, unknown>
  write(w: Where, name: string): Promise<void>
  rows(w: Where): Promise<string[]>
}

const schema = { databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] }
const ENGINES: Engine[] = [
  {
    type: 'postgresql',
    version: '15',
    body: schema,
    async write(w, name) {
      const c = new pg.Client({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 5000 })
      await c.connect()
      try {
        await c.query('CREATE TABLE IF NOT EXISTS t (name text primary key)')
        await c.query('INSERT INTO t VALUES ($1)', [name])
      } finally {
        await c.end()
      }
    },
    async rows(w) {
      const c = new pg.Client({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 5000 })
      await c.connect()
      try {
        return (await c.query('SELECT name FROM t ORDER BY name')).rows.map((r) => r.name as string)
      } finally {
        await c.end()
      }
    },
  },
  {
    type: 'mariadb',
    version: '10.11',
    body: schema,
    async write(w, name) {
      const c = await mysql.createConnection({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectTimeout: 5000 })
      try {
        await c.query('CREATE TABLE IF NOT EXISTS t (name varchar(64) primary key)')
        await c.query('INSERT INTO t VALUES (?)', [name])
      } finally {
        await c.end()
      }
    },
    async rows(w) {
      const c = await mysql.createConnection({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectTimeout: 5000 })
      try {
        return ((await c.query('SELECT name FROM t ORDER BY name'))[0] as { name: string }[]).map((r) => r.name)
      } finally {
        await c.end()
      }
    },
  },
  {
    type: 'redis',
    version: '7.0',
    body: { users: [{ name: 'app', password: PASSWORD, databases: [] }] },
    async write(w, name) {
      const r = new Redis({ ...host(w), username: 'app', password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
      r.on('error', () => {})
      await r.connect()
      try {
        await r.set(`row:${name}`, name)
      } finally {
        r.disconnect()
      }
    },
    async rows(w) {
      const r = new Redis({ ...host(w), username: 'app', password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
      r.on('error', () => {})
      await r.connect()
      try {
        const keys: string[] = []
        let cursor = '0'
        do {
          const [next, found] = await r.scan(cursor, 'MATCH', 'row:*', 'COUNT', 1000)
          keys.push(...found)
          cursor = next
        } while (cursor !== '0')
        return keys.map((k) => k.slice(4)).sort()
      } finally {
        r.disconnect()
      }
    },
  },
]

/** Redis: logs in as `user` (rejects when refused), reads `key` and tries a write (its error message, or 'written'). */
async function redisLogin(w: Where, user: string, password: string, key: string): Promise<{ read: string | null; write: string }> {
  // AUTH after connecting: a refused login is then Redis's own WRONGPASS, not ioredis's closed connection.
  const r = new Redis({ ...host(w), maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, enableReadyCheck: false })
  r.on('error', () => {})
  try {
    await r.connect()
    await r.call('AUTH', user, password)
    return { read: await r.get(key), write: await r.set('row:x', 'x').then(() => 'written', (err: Error) => err.message) }
  } finally {
    r.disconnect()
  }
}

/** Polls until `fn` resolves to something `ok` accepts (errors count as not yet). */
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (ok(v)) return v
      last = v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await sleep(200)
  }
}

describe('replica sets through the API', () => {
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    // Less memory than flavor 1, the sources' flavor: a replica of it is refused.
    const micro = await api.api('POST', '/flavors', { flavor: { id: 'micro', name: 'm1.micro', ram: 256, vcpus: 1 } })
    assert.equal(micro.status, 200, JSON.stringify(micro.body))
  })
  after(async () => {
    await coffer?.destroy()
  })

  const created = async (body: Record<string, unknown>) => {
    const r = await api.api('POST', '/instances', { instance: body })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.instance
  }
  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
  const show = async (id: string) => (await api.api('GET', `/instances/${id}`)).body.instance
  const action = async (id: string, body: unknown) => (await api.api('POST', `/instances/${id}/action`, body)).status

  for (const e of ENGINES) {
    describe(e.type, () => {
      let source: any
      let replica: any

      it('makes a replica from only replica_of: it has every row and refuses writes', async () => {
        source = await settled((await created({ name: `${e.type}-a`, flavorRef: '1', volume: { size: 2 }, datastore: { type: e.type, version: e.version }, ...e.body })).id)
        assert.equal(source.status, 'ACTIVE', JSON.stringify(source))
        await e.write(at(source), 'before')
        replica = await settled((await created({ name: `${e.type}-b`, replica_of: source.id })).id)
        assert.equal(replica.status, 'ACTIVE', JSON.stringify(replica))
        assert.equal(replica.flavor.id, source.flavor.id)
        assert.equal(replica.volume.size, 2, "the source's volume")
        assert.equal(replica.datastore.type, e.type)
        assert.equal(replica.replica_of.id, source.id)
        await e.write(at(source), 'after')
        await eventually(() => e.rows(at(replica)), (r) => r.join() === 'after,before', 'the replica has both rows')
        await assert.rejects(e.write(at(replica), 'on-replica'), 'a write on the replica is refused')
        const shown = await show(source.id)
        assert.deepEqual(shown.replicas.map((r: any) => r.id), [replica.id])
        const replication = await eventually(() => show(replica.id), (i) => i.replication?.role === 'replica', 'the replica reports its replication state')
        assert.equal(replication.replication.connected, true)
      })

      it('refuses what a replica set cannot do, changing nothing', async () => {
        const del = await api.api('DELETE', `/instances/${source.id}`)
        assert.equal(del.status, 403)
        assert.match(del.body.forbidden.message, new RegExp(replica.id))
        const user = await api.api('POST', `/instances/${replica.id}/users`, { users: [{ name: 'x', password: 'x-password-1', databases: [] }] })
        assert.equal(user.status, 400)
        assert.match(user.body.badRequest.message, /is a replica/)
        assert.equal(await action(source.id, { promote_to_replica_source: {} }), 400, 'a source is not promoted')
        assert.equal(await action(replica.id, { eject_replica_source: {} }), 400, 'a healthy source is not ejected')
        const replicaOfReplica = await api.api('POST', '/instances', { instance: { name: 'x', replica_of: replica.id } })
        assert.equal(replicaOfReplica.status, 400)
        for (const count of [undefined, 2]) {
          const smaller = await api.api('POST', '/instances', { instance: { name: 'x', replica_of: source.id, flavorRef: 'micro', ...(count ? { replica_count: count } : {}) } })
          assert.equal(smaller.status, 400, JSON.stringify(smaller.body))
          assert.match(smaller.body.badRequest.message, /Flavor micro \(256 MB RAM\) has less memory than flavor 1 \(512 MB RAM\) of the source/)
        }
        const small = await api.api('POST', '/instances', { instance: { name: 'x', replica_of: source.id, volume: { size: 1 } } })
        assert.equal(small.status, 400, JSON.stringify(small.body))
        assert.match(small.body.badRequest.message, /volume of 1 GB is smaller than the 2 GB volume of its source/)
        const ids = async () => (await api.api('GET', '/instances')).body.instances.map((i: any) => i.id).sort()
        assert.deepEqual(await ids(), [source.id, replica.id].sort(), 'nothing was made')
        assert.equal((await show(source.id)).status, 'ACTIVE')
      })

      if (e.type === 'redis') {
        it('carries users and root changed on the source to its replica, as Redis itself does not', async () => {
          const login = (w: Where, user: string, password: string) => redisLogin(w, user, password, 'row:before')
          const status = async (method: string, path: string, body?: unknown) => {
            const r = await api.api(method, `/instances/${source.id}${path}`, body)
            assert.ok([200, 202, 204].includes(r.status), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`)
          }
          await status('POST', '/users', { users: [{ name: 'carol', password: 'carol-Passw0rd-1', databases: [] }, { name: 'kept', password: PASSWORD, databases: [] }] })
          const carol = await login(at(replica), 'carol', 'carol-Passw0rd-1')
          assert.equal(carol.read, 'before', 'a user made on the source reads on the replica')
          assert.match(carol.write, /READONLY/, 'and cannot write there')
          await status('PUT', '/users/carol', { user: { password: 'carol-Passw0rd-2' } })
          await assert.rejects(login(at(replica), 'carol', 'carol-Passw0rd-1'), /WRONGPASS/, 'the old password is refused on the replica')
          assert.equal((await login(at(replica), 'carol', 'carol-Passw0rd-2')).read, 'before')
          await status('DELETE', '/users/carol')
          await assert.rejects(login(at(replica), 'carol', 'carol-Passw0rd-2'), /WRONGPASS/, 'a user dropped on the source is gone from the replica')
          await status('POST', '/root', { password: 'root-Passw0rd-1' })
          const root = await login(at(replica), 'root', 'root-Passw0rd-1')
          assert.equal(root.read, 'before')
          assert.match(root.write, /READONLY/)
          await status('DELETE', '/root')
          await assert.rejects(login(at(replica), 'root', 'root-Passw0rd-1'), /WRONGPASS/, 'root disabled on the source is disabled on the replica')
          const listed = await api.api('GET', `/instances/${replica.id}/users`)
          assert.deepEqual(listed.body.users.map((u: any) => u.name), ['app', 'kept'])
        })

        it('a replica stopped while users change on its source has them once it starts again', async () => {
          const status = async (method: string, path: string, body?: unknown) => {
            const r = await api.api(method, `/instances/${source.id}${path}`, body)
            assert.ok([200, 202, 204].includes(r.status), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`)
          }
          assert.equal(await action(replica.id, { stop: {} }), 202)
          await api.waitFor(replica.id, (x) => x.body.instance.operating_status === 'SHUTDOWN')
          // Made, changed and dropped while the replica is down: the change reaches no replica now.
          await status('POST', '/users', { users: [{ name: 'dave', password: 'dave-Passw0rd-1', databases: [] }, { name: 'erin', password: 'erin-Passw0rd-1', databases: [] }] })
          await status('PUT', '/users/kept', { user: { password: 'kept-Passw0rd-2' } })
          await status('DELETE', '/users/erin')
          assert.equal(await action(replica.id, { start: {} }), 202)
          assert.equal((await settled(replica.id)).status, 'ACTIVE')
          const dave = await redisLogin(at(replica), 'dave', 'dave-Passw0rd-1', 'row:before')
          assert.equal(dave.read, 'before', 'a user made on the source while the replica was down reads on it')
          assert.match(dave.write, /READONLY/, 'and cannot write there')
          await assert.rejects(redisLogin(at(replica), 'kept', PASSWORD, 'row:before'), /WRONGPASS/, 'the password changed meanwhile is the one the replica takes')
          assert.equal((await redisLogin(at(replica), 'kept', 'kept-Passw0rd-2', 'row:before')).read, 'before')
          await assert.rejects(redisLogin(at(replica), 'erin', 'erin-Passw0rd-1', 'row:before'), /WRONGPASS/, 'a user made and dropped meanwhile is not on the replica')
          // Back as the later tests expect them.
          await status('PUT', '/users/kept', { user: { password: PASSWORD } })
          await status('DELETE', '/users/dave')
          assert.equal((await redisLogin(at(replica), 'kept', PASSWORD, 'row:before')).read, 'before')
        })
      }

      it('promotes the replica: no committed row lost, the old source follows it', async () => {
        await e.write(at(source), 'last-on-a')
        assert.equal(await action(replica.id, { promote_to_replica_source: {} }), 202)
        assert.equal((await show(replica.id)).status, 'PROMOTE')
        const b = await settled(replica.id)
        const a = await settled(source.id)
        assert.equal(b.status, 'ACTIVE', JSON.stringify(b))
        assert.equal(a.status, 'ACTIVE', JSON.stringify(a))
        assert.equal(b.replica_of, undefined)
        assert.equal(a.replica_of?.id, replica.id)
        assert.deepEqual(await e.rows(at(b)), ['after', 'before', 'last-on-a'])
        await e.write(at(b), 'first-on-b')
        await eventually(() => e.rows(at(a)), (r) => r.includes('first-on-b'), 'the old source follows the new one')
        await assert.rejects(e.write(at(a), 'on-old-source'), 'the old source takes no writes')
      })

      it('detaches the old source: it is writable on its own', async () => {
        const r = await api.api('PUT', `/instances/${source.id}`, { instance: { replica_of: '' } })
        assert.equal(r.status, 202, JSON.stringify(r.body))
        const a = await settled(source.id)
        assert.equal(a.status, 'ACTIVE')
        assert.equal(a.replica_of, undefined)
        await e.write(at(a), 'detached')
        assert.ok((await e.rows(at(a))).includes('detached'))
        assert.ok(!(await e.rows(at(replica))).includes('detached'), 'a detached instance is no longer in the set')
      })

      it('ejects a lost source: its replica takes its place', async () => {
        const c = await settled((await created({ name: `${e.type}-c`, replica_of: replica.id })).id)
        assert.equal(c.status, 'ACTIVE', JSON.stringify(c))
        await eventually(() => e.rows(at(c)), (r) => r.includes('first-on-b'), 'the new replica caught up')
        if (e.type === 'redis') assert.equal((await redisLogin(at(c), 'kept', PASSWORD, 'row:first-on-b')).read, 'first-on-b', 'a replica seeded later has the users made on the first source')
        assert.equal(await action(replica.id, { stop: {} }), 202)
        await api.waitFor(replica.id, (x) => x.body.instance.operating_status === 'SHUTDOWN')
        assert.equal(await action(c.id, { eject_replica_source: {} }), 202)
        const promoted = await settled(c.id)
        assert.equal(promoted.status, 'ACTIVE', JSON.stringify(promoted))
        assert.equal(promoted.replica_of, undefined)
        await e.write(at(promoted), 'after-eject')
        const old = await show(replica.id)
        assert.equal(old.status, 'ERROR')
        assert.match(old.fault.message, /ejected/)
        for (const id of [c.id, replica.id, source.id]) await api.api('DELETE', `/instances/${id}`)
        for (const id of [c.id, replica.id, source.id]) await api.waitGone(id)
      })
    })
  }
})
