/**
 * Automatic failover's bounds and records on PostgreSQL: an asynchronous set whose only replica is
 * further behind than COFFER_FAILOVER_MAX_LAG_BYTES (its walreceiver stopped with SIGSTOP while the
 * source writes) does not fail over when the source is lost: the source shows a fault and every
 * member an event saying why and what to do (an eject by hand, which then works). A failover that
 * happens is recorded on every member, with how much may have been lost; another tenant cannot
 * read those events.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import type { Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'
import { loseEngine, makeSet, query, walReceiver } from './helpers/failover.js'

const BOUND = 64 * 1024
const run = promisify(execFile)

describe('automatic failover: loss bound and events', () => {
  let coffer: CofferProcess
  let api: TestClient
  const squatters: Server[] = []
  let stopped: number | undefined

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_FAILOVER_MAX_LAG_BYTES: String(BOUND) }))
  })
  after(async () => {
    if (stopped !== undefined) {
      try {
        process.kill(stopped, 'SIGCONT')
      } catch {
        // gone
      }
    }
    for (const s of squatters) s.close()
    await coffer?.destroy()
  })

  const events = async (id: string) => {
    const r = await api.api('GET', `/instances/${id}/events`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.events as { at: string; kind: string; message: string }[]
  }

  it('does not promote a replica further behind than the bound; the source says why and an eject by hand still works', async () => {
    const { source, replicas: [replica] } = await makeSet(api, 'loss', 1, { auto_failover: true })
    await query(source, 'CREATE TABLE t (n int primary key, pad text)')
    stopped = walReceiver(coffer, replica.id)
    process.kill(stopped, 'SIGSTOP')
    await query(source, "INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 2000) g")
    // The source's heartbeats tell how far the replica is behind.
    await api.waitFor(source.id, (x) => (x.body.instance.replication?.replicaLagBytes?.[replica.id] ?? 0) > BOUND, 30_000)

    const { squatter } = await loseEngine(coffer, source)
    squatters.push(squatter)
    const refused = (await api.waitFor(source.id, (x) => /Automatic failover was refused/.test(x.body.instance.fault?.message ?? ''), 30_000)).body.instance
    assert.match(refused.fault.message, new RegExp(`${replica.id}: \\d+ bytes behind`))
    assert.match(refused.fault.message, /eject_replica_source/)
    for (const id of [source.id, replica.id]) assert.ok((await events(id)).some((e) => e.kind === 'failover-refused' && /eject_replica_source/.test(e.message)), `event on ${id}`)
    await sleep(2000)
    const still = (await api.api('GET', `/instances/${replica.id}`)).body.instance
    assert.equal(still.replica_of?.id, source.id, 'the replica was not promoted')
    assert.equal(still.status, 'ACTIVE')

    process.kill(stopped, 'SIGCONT')
    stopped = undefined
    assert.equal((await api.api('POST', `/instances/${replica.id}/action`, { eject_replica_source: {} })).status, 202)
    const promoted = (await api.waitFor(replica.id, (x) => x.body.instance.status === 'ACTIVE' && !x.body.instance.replica_of, 60_000)).body.instance
    await query(promoted, "INSERT INTO t VALUES (0, 'after')")
    assert.ok((await events(replica.id)).some((e) => e.kind === 'eject' && e.message.includes(`${replica.id} replaced ${source.id}`)))
    for (const id of [replica.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [replica.id, source.id]) await api.waitGone(id)
  })

  it('records an automatic failover on every member, with what may be lost; another tenant cannot read it', async () => {
    const { source, replicas } = await makeSet(api, 'ev', 2, { auto_failover: true })
    await query(source, 'CREATE TABLE t (n int primary key)')
    await query(source, 'INSERT INTO t SELECT generate_series(1, 100)')
    // Every member's heartbeats have seen the replicas caught up.
    await api.waitFor(source.id, (x) => Object.keys(x.body.instance.replication?.replicaLagBytes ?? {}).length === 2, 30_000)
    const { squatter } = await loseEngine(coffer, source)
    squatters.push(squatter)
    const ids = replicas.map((r) => r.id)
    let promoted: any
    for (const deadline = Date.now() + 60_000; !promoted && Date.now() < deadline; await sleep(100)) {
      const rs = await Promise.all(ids.map(async (id) => (await api.api('GET', `/instances/${id}`)).body.instance))
      promoted = rs.find((r) => r.status === 'ACTIVE' && !r.replica_of && rs.every((o) => o.status === 'ACTIVE'))
    }
    assert.ok(promoted, 'a replica was promoted')
    assert.equal((await query(promoted, 'SELECT count(*)::int AS n FROM t'))[0].n, 100)
    for (const id of [source.id, ...ids]) {
      const failover = (await events(id)).find((e) => e.kind === 'failover')
      assert.ok(failover, `failover event on ${id}`)
      assert.match(failover.message, new RegExp(`Automatic failover: ${promoted.id} replaced ${source.id} as the source after [\\d.]+ s; up to \\d+ bytes of writes may be lost`))
    }

    // The CLI shows them: a table by default, the API's objects with --json.
    const cli = async (...args: string[]) => (await run(COFFER_BIN, args, { env: { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }, timeout: 60_000 })).stdout
    assert.match(await cli('events', promoted.id), /At.*Kind.*Message[\s\S]*failover/)
    assert.deepEqual(JSON.parse(await cli('events', promoted.id, '--json')), await events(promoted.id))
    assert.match(await cli('events', '--help'), /Usage: coffer events/)
    assert.match(await cli('show', promoted.id), /events[\s\S]*failover: Automatic failover/, 'show has the last few')

    const project = await api.raw('POST', '/v3/projects', { project: { name: 'others' } })
    await api.raw('POST', '/v3/users', { user: { name: 'other', password: 'other-password', default_project_id: project.body.project.id } })
    const other = new TestClient(coffer.url)
    assert.equal((await other.login('other', 'other-password', 'others')).status, 201)
    const r = await other.api('GET', `/instances/${promoted.id}/events`)
    assert.equal(r.status, 404, JSON.stringify(r.body))
    assert.ok(r.body.itemNotFound, 'in Trove\'s error shape')

    const follower = ids.find((id) => id !== promoted.id)!
    for (const id of [follower, promoted.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [follower, promoted.id, source.id]) await api.waitGone(id)
  })
})
