/**
 * Synchronous replica sets (`sync: true`) on PostgreSQL: a commit on the source is acknowledged only
 * once its replica has it, so with the replica down a commit waits, and it returns once the replica
 * is back. A datastore without synchronous replication refuses `sync`.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

const PASSWORD = 'app-Passw0rd'

const client = async (inst: any): Promise<pg.Client> => {
  const c = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 5000 })
  c.on('error', () => undefined)
  await c.connect()
  return c
}

describe('synchronous replica sets', () => {
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => {
    await coffer?.destroy()
  })

  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance

  it('acknowledges a commit only once the replica has it', async () => {
    const created = await api.api('POST', '/instances', {
      instance: { name: 'sync-a', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'postgresql', version: '15' }, sync: true, databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] },
    })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const source = await settled(created.body.instance.id)
    assert.equal(source.sync, true)
    const replica = await settled((await api.api('POST', '/instances', { instance: { name: 'sync-b', replica_of: source.id } })).body.instance.id)
    assert.equal(replica.status, 'ACTIVE', JSON.stringify(replica))

    const a = await client(source)
    await a.query('CREATE TABLE t (n int)')
    await a.query('INSERT INTO t VALUES (1)')

    assert.equal((await api.api('POST', `/instances/${replica.id}/action`, { stop: {} })).status, 202)
    await api.waitFor(replica.id, (x) => x.body.instance.operating_status === 'SHUTDOWN')
    const waiting = a.query('INSERT INTO t VALUES (2)')
    const early = await Promise.race([waiting.then(() => 'acknowledged'), sleep(2500).then(() => 'waiting')])
    assert.equal(early, 'waiting', 'with its replica down, the source does not acknowledge the commit')

    assert.equal((await api.api('POST', `/instances/${replica.id}/action`, { start: {} })).status, 202)
    const late = await Promise.race([waiting.then(() => 'acknowledged'), sleep(60_000).then(() => 'still waiting')])
    assert.equal(late, 'acknowledged', 'the commit returns once the replica has it')
    await a.end()
    const b = await client(await settled(replica.id))
    assert.deepEqual((await b.query('SELECT n FROM t ORDER BY n')).rows, [{ n: 1 }, { n: 2 }])
    await b.end()

    // Asynchronous again: no waiting for a replica that is down.
    assert.equal((await api.api('PUT', `/instances/${source.id}`, { instance: { sync: false } })).status, 202)
    assert.equal((await api.api('GET', `/instances/${source.id}`)).body.instance.sync, undefined)
    for (const id of [replica.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [replica.id, source.id]) await api.waitGone(id)
  })

  it('refuses sync where the datastore has none, changing nothing', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'x', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis', version: '7.0' }, sync: true } })
    assert.equal(r.status, 400)
    assert.match(r.body.badRequest.message, /no synchronous replication/)
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
  })
})
