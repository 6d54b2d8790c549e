/**
 * Automatic failover of a synchronous set (`sync: true`) on PostgreSQL loses no acknowledged write:
 * a writer commits rows one by one, counting the commits acknowledged, while every process of the
 * source's engine is SIGKILLed and its port taken (its node cannot restart it); once a replica is
 * promoted, every acknowledged row is on it, and the other replica follows it.
 */
import assert from 'node:assert/strict'
import type { Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { loseEngine, pgClient, pgSet, query } from './helpers/failover.js'

describe('automatic failover of a synchronous set', () => {
  let coffer: CofferProcess
  let api: TestClient
  let squatter: Server | undefined

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => {
    squatter?.close()
    await coffer?.destroy()
  })

  it('has every acknowledged row on the promoted replica', async () => {
    const { source, replicas } = await pgSet(api, 'sync-fo', 2, { auto_failover: true, sync: true })
    await query(source, 'CREATE TABLE t (n int primary key)')
    await api.waitFor(source.id, (x) => (x.body.instance.replication?.synchronous ?? 0) >= 1, 30_000)

    const acknowledged: number[] = []
    const writer = await pgClient(source)
    const writing = (async () => {
      for (let n = 1; ; n++) {
        try {
          await writer.query('INSERT INTO t VALUES ($1)', [n])
        } catch {
          return
        }
        acknowledged.push(n)
      }
    })()
    while (acknowledged.length < 300) await sleep(10)
    ;({ squatter } = await loseEngine(coffer, source))
    await writing
    assert.ok(acknowledged.length >= 300)

    const ids = replicas.map((r) => r.id)
    let promoted: any
    let rs: any[] = []
    for (const deadline = Date.now() + 60_000; !promoted && Date.now() < deadline; await sleep(100)) {
      rs = await Promise.all(ids.map(async (id) => (await api.api('GET', `/instances/${id}`)).body.instance))
      promoted = rs.find((r) => r.status === 'ACTIVE' && !r.replica_of && rs.every((o) => o.status === 'ACTIVE'))
    }
    assert.ok(promoted, `a replica was promoted: ${JSON.stringify(rs)}`)
    const follower = rs.find((r) => r.id !== promoted.id)
    assert.equal(follower.replica_of?.id, promoted.id, 'the other replica follows the new source')
    const have = (await query(promoted, 'SELECT n FROM t WHERE n = ANY($1::int[])', [acknowledged])).map((r) => r.n)
    assert.equal(have.length, acknowledged.length, `every acknowledged row is on the new source (${acknowledged.length} acknowledged)`)
    const failover = ((await api.api('GET', `/instances/${promoted.id}/events`)).body.events as any[]).find((e) => e.kind === 'failover')
    assert.match(failover?.message ?? '', /synchronous: no acknowledged write was lost/)
    console.log(`# ${acknowledged.length} writes acknowledged before the kill, all on the new source`)

    await query(promoted, 'INSERT INTO t VALUES (0)')
    for (const id of [follower.id, promoted.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [follower.id, promoted.id, source.id]) await api.waitGone(id)
  })
})
