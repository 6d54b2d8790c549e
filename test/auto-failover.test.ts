/**
 * Automatic failover on PostgreSQL: a set created with `auto_failover`, its source's engine killed
 * and its place taken so its node cannot restart it; within seconds the replica is the source,
 * with every committed row, and the old source is out of the set, fenced, never writable again.
 * A source whose engine its node starts again within the grace stays the source.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { makeSet } from './helpers/failover.js'

const PASSWORD = 'app-Passw0rd'

async function query(inst: any, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 3000 })
  await c.connect()
  try {
    return (await c.query(sql, params)).rows
  } finally {
    await c.end()
  }
}

describe('automatic failover', () => {
  let coffer: CofferProcess
  let api: TestClient
  let squatter: Server | undefined

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_FAILOVER_SECONDS: '2' }))
  })
  after(async () => {
    squatter?.close()
    await coffer?.destroy()
  })

  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance

  it('replaces a source that does not come back by its replica, which has every committed row', async () => {
    const a = await api.api('POST', '/instances', {
      instance: { name: 'fo-a', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'postgresql', version: '15' }, auto_failover: true, databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] },
    })
    assert.equal(a.status, 200, JSON.stringify(a.body))
    const source = await settled(a.body.instance.id)
    assert.equal(source.status, 'ACTIVE')
    assert.equal(source.auto_failover, true)
    const replica = await settled((await api.api('POST', '/instances', { instance: { name: 'fo-b', replica_of: source.id } })).body.instance.id)
    assert.equal(replica.status, 'ACTIVE', JSON.stringify(replica))
    await query(source, 'CREATE TABLE t (n int primary key)')
    for (let n = 1; n <= 50; n++) await query(source, 'INSERT INTO t VALUES ($1)', [n])

    // The source's engine dies and another program takes its address and port: the node's restarts fail.
    const pid = Number(readFileSync(join(coffer.home, 'instances', source.id, 'volume', 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGKILL')
    squatter = createServer((s) => s.destroy())
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => squatter!.once('error', () => resolve(false)).listen(source.port, source.ip[0], () => resolve(true)))
      if (ok) break
      await sleep(20)
    }
    const killedAt = Date.now()

    const promoted = await api.waitFor(replica.id, (x) => x.body.instance.status === 'ACTIVE' && !x.body.instance.replica_of, 60_000)
    const tookMs = Date.now() - killedAt
    assert.ok(promoted.body.instance.replicas === undefined)
    const rows = await query(promoted.body.instance, 'SELECT count(*)::int AS n FROM t')
    assert.equal(rows[0].n, 50, 'every committed row is on the new source')
    await query(promoted.body.instance, 'INSERT INTO t VALUES (51)')
    const old = (await api.api('GET', `/instances/${source.id}`)).body.instance
    assert.equal(old.status, 'ERROR')
    assert.match(old.fault.message, /ejected/)
    console.log(`# automatic failover: engine killed to the replica promoted in ${(tookMs / 1000).toFixed(1)} s`)

    // The place freed again: the old source is not started as a source by anyone.
    squatter.close()
    squatter = undefined
    await sleep(3000)
    await assert.rejects(query(old, 'INSERT INTO t VALUES (999)'), 'the old source never takes writes again')
    for (const id of [replica.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [replica.id, source.id]) await api.waitGone(id)
  })

  it('refuses a bad auto_failover, changing nothing', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'x', flavorRef: '1', volume: { size: 1 }, auto_failover: 'yes' } })
    assert.equal(r.status, 400)
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
  })
})

describe('automatic failover waits for a restart that works', () => {
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_FAILOVER_SECONDS: '20' }))
  })
  after(async () => {
    await coffer?.destroy()
  })

  it('keeps a source whose engine its node starts again, with no failover and no event', async () => {
    const { source, replicas: [replica] } = await makeSet(api, 'fo-restart', 1, { auto_failover: true })
    await query(source, 'CREATE TABLE t (n int primary key)')
    const dir = join(coffer.home, 'instances', source.id)
    const pid = Number(readFileSync(join(dir, 'volume', 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGKILL')
    // Its node sees the engine gone and starts it again (crash recovery), well within the grace.
    const postmaster = () => {
      try {
        return Number(readFileSync(join(dir, 'volume', 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
      } catch {
        return undefined
      }
    }
    await api.waitFor(source.id, (x) => x.body.instance.operating_status === 'HEALTHY' && ![undefined, pid].includes(postmaster()), 60_000)
    await query(source, 'INSERT INTO t VALUES (1)')
    const r = (await api.api('GET', `/instances/${replica.id}`)).body.instance
    assert.equal(r.replica_of?.id, source.id, 'the replica still follows it')
    assert.deepEqual((await api.api('GET', `/instances/${source.id}/events`)).body.events, [])
    for (const id of [replica.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [replica.id, source.id]) await api.waitGone(id)
  })
})
