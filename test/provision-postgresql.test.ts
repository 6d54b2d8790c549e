/**
 * PostgreSQL end to end through a real `coffer serve`: create with a database and a user, connect as
 * that user with a real client, write and read, look at the engine's hardening, delete.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { pgCreateBody, TestClient } from './helpers/api-client.js'
import { accountName } from '../src/compute/local/accounts.js'
import { ADMIN_PASSWORD, engineMains, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const accountUid = (name: string): number | undefined => {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
  return line ? Number(line.split(':')[2]) : undefined
}

describe('provision PostgreSQL', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    coffer = await startCoffer()
    api = new TestClient(coffer.url)
    assert.equal((await api.login('admin', ADMIN_PASSWORD, 'admin')).status, 201)
  })
  after(async () => coffer?.destroy())

  it('offers PostgreSQL 15 found on the node, with its capabilities', async () => {
    const { body } = await api.api('GET', '/datastores')
    const ds = body.datastores.find((d: any) => d.name === 'postgresql')
    assert.ok(ds, 'postgresql is listed')
    assert.deepEqual(ds.versions.map((v: any) => v.name), ['15'])
    assert.equal(ds.default_version, ds.versions[0].id)
    const v = await api.api('GET', `/datastores/postgresql/versions/15`)
    assert.equal(v.status, 200)
    assert.match(v.body.version.version, /^15\.\d+/)
    assert.equal(v.body.version.capabilities.users, true)
    const byId = await api.api('GET', `/datastores/versions/${ds.versions[0].id}`)
    assert.equal(byId.body.version.name, '15')
  })

  it('lists default flavors in Trove shape', async () => {
    const { body } = await api.api('GET', '/flavors')
    const tiny = body.flavors.find((f: any) => f.str_id === '1')
    assert.deepEqual(Object.keys(tiny).sort(), ['disk', 'ephemeral', 'id', 'links', 'name', 'ram', 'str_id', 'vcpus'])
    assert.equal(tiny.id, 1)
    assert.ok(body.flavors.length >= 4)
  })

  it('creates an instance that a real client can use, then deletes it completely', async () => {
    const created = await api.api(
      'POST',
      '/instances',
      pgCreateBody('e2e', { databases: [{ name: 'shop' }, { name: 'other' }], users: [{ name: 'alice', password: 'Sup3r-secret!', databases: [{ name: 'shop' }] }] }),
    )
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const inst = created.body.instance
    assert.equal(inst.status, 'BUILD')
    assert.equal(inst.datastore.type, 'postgresql')

    const active = (await api.waitActive(inst.id)).body.instance
    assert.equal(active.status, 'ACTIVE', JSON.stringify(active))
    assert.equal(active.operating_status, 'HEALTHY')
    // Its own address from the pool (the test server's own /16), on PostgreSQL's standard port, as Trove shows it.
    assert.equal(active.ip.length, 1)
    const [a, b] = coffer.instanceNetwork.split('.')
    assert.ok(active.ip[0].startsWith(`${a}.${b}.`), `${active.ip[0]} is an address of the pool ${coffer.instanceNetwork}`)
    assert.equal(active.hostname, active.ip[0])
    assert.deepEqual(active.addresses, [{ address: active.ip[0], type: 'private', network: coffer.instanceNetwork, port: 5432 }])
    assert.equal(active.port, 5432)

    const connect = (user: string, password: string, database: string) =>
      new pg.Client({ host: active.ip[0], port: active.port, user, password, database, connectionTimeoutMillis: 5000 })
    const alice = connect('alice', 'Sup3r-secret!', 'shop')
    await alice.connect()
    await alice.query('CREATE TABLE orders (id int primary key, item text)')
    await alice.query('INSERT INTO orders VALUES ($1, $2)', [1, 'coffee'])
    assert.deepEqual((await alice.query('SELECT item FROM orders WHERE id = 1')).rows, [{ item: 'coffee' }])
    const me = (await alice.query('SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = session_user')).rows[0]
    assert.deepEqual(me, { rolsuper: false, rolcreaterole: false })
    assert.equal((await alice.query('SHOW password_encryption')).rows[0].password_encryption, 'scram-sha-256')
    await alice.end()

    await assert.rejects(connect('alice', 'wrong', 'shop').connect(), /password authentication failed/)
    await assert.rejects(connect('alice', 'Sup3r-secret!', 'other').connect(), /permission denied|not permitted/)
    await assert.rejects(connect('coffer_admin', '', 'postgres').connect(), /reject|password|no pg_hba/)

    const conf = await api.api('GET', `/instances/${inst.id}/configuration`)
    assert.equal(conf.status, 200)
    assert.ok(conf.body.instance.configuration.shared_buffers, JSON.stringify(conf.body))
    assert.ok(conf.body.instance.configuration.max_connections)

    const hba = readFileSync(join(coffer.home, 'instances', inst.id, 'volume', 'data', 'pg_hba.conf'), 'utf8')
    assert.doesNotMatch(hba.replace(/#.*$/gm, ''), /\btrust\b|\bpeer\b|\bident\b/)

    const listed = await api.api('GET', '/instances')
    assert.ok(listed.body.instances.some((i: any) => i.id === inst.id))

    const engines = processesUnder(join(coffer.home, 'instances', inst.id))
    assert.ok(engines.length > 0, 'engine runs')
    if (process.getuid?.() === 0) {
      const owner = readFileSync(`/proc/${engines[0]}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]
      assert.equal(owner, String(accountUid(accountName(inst.id))), 'the engine runs as the instance\'s own account')
    }
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
    assert.equal(existsSync(join(coffer.home, 'instances', inst.id)), false, 'volume removed')
    assert.deepEqual(processesUnder(join(coffer.home, 'instances', inst.id)), [], 'engine stopped')
    assert.equal(accountUid(accountName(inst.id)), undefined, 'account removed')
    await assert.rejects(connect('alice', 'Sup3r-secret!', 'shop').connect())
  })

  it('starts again an engine that died behind its back, data intact', async () => {
    const { body } = await api.api('POST', '/instances', pgCreateBody('phoenix', { databases: [{ name: 'd' }], users: [{ name: 'eve', password: 'pw-eve-123', databases: [{ name: 'd' }] }] }))
    const inst = (await api.waitActive(body.instance.id)).body.instance
    const eve = () => new pg.Client({ host: inst.ip[0], port: inst.port, user: 'eve', password: 'pw-eve-123', database: 'd' })
    const c = eve()
    await c.connect()
    await c.query('CREATE TABLE t (v int); INSERT INTO t VALUES (42)')
    await c.end()
    const [postmaster] = engineMains(join(coffer.home, 'instances', inst.id))
    assert.ok(postmaster)
    process.kill(postmaster, 'SIGKILL')
    const deadline = Date.now() + 30_000
    let now: number[] = []
    while (Date.now() < deadline) {
      now = engineMains(join(coffer.home, 'instances', inst.id))
      if (now.length === 1 && now[0] !== postmaster && (await api.api('GET', `/instances/${inst.id}`)).body.instance.status === 'ACTIVE') break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(now.length, 1, 'one engine again')
    assert.notEqual(now[0], postmaster, 'a new engine')
    const again = eve()
    await again.connect()
    assert.deepEqual((await again.query('SELECT v FROM t')).rows, [{ v: 42 }])
    await again.end()
    await api.api('DELETE', `/instances/${inst.id}`)
    await api.waitGone(inst.id)
  })

  it('keeps engines running when the server stops, and re-adopts them at start', async () => {
    const { body } = await api.api('POST', '/instances', pgCreateBody('survivor', { databases: [{ name: 'd' }], users: [{ name: 'bob', password: 'pw-bob-123', databases: [{ name: 'd' }] }] }))
    const inst = (await api.waitActive(body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE')
    const [postmaster] = engineMains(join(coffer.home, 'instances', inst.id))
    assert.ok(postmaster, 'the engine runs')

    await coffer.kill('SIGKILL')
    const bob = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'bob', password: 'pw-bob-123', database: 'd' })
    await bob.connect()
    assert.equal((await bob.query('SELECT 1 AS one')).rows[0].one, 1, 'database answers while Coffer is down')
    await bob.end()

    await coffer.restart()
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const after = (await api.waitActive(inst.id)).body.instance
    assert.equal(after.status, 'ACTIVE')
    assert.equal(after.port, inst.port)
    assert.deepEqual(engineMains(join(coffer.home, 'instances', inst.id)), [postmaster], 'the same engine, not a new one')
    await api.api('DELETE', `/instances/${inst.id}`)
    await api.waitGone(inst.id)
  })
})
