/**
 * Automatic failover of a synchronous set (`sync: true`) on PostgreSQL and MariaDB loses no acknowledged write:
 * a writer commits rows one by one, counting the commits acknowledged, while every process of the
 * source's engine is SIGKILLed and its port taken (its node cannot restart it); once a replica is
 * promoted, every acknowledged row is on it, and the other replica follows it.
 */
import assert from 'node:assert/strict'
import type { Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import mysql from 'mysql2/promise'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { loseEngine, PASSWORD, pgClient, makeSet } from './helpers/failover.js'

interface Engine {
  readonly datastore: { readonly type: string; readonly version: string }
  /** A connection to `inst` that runs one statement per call. */
  connect(inst: any): Promise<{ run(sql: string, params?: unknown[]): Promise<any[]>; end(): Promise<void> }>
}

const ENGINES: Engine[] = [
  {
    datastore: { type: 'postgresql', version: '15' },
    async connect(inst) {
      const c = await pgClient(inst)
      return { run: async (sql, params = []) => (await c.query(sql, params)).rows, end: () => c.end() }
    },
  },
  {
    datastore: { type: 'mariadb', version: '10.11' },
    async connect(inst) {
      const c = await mysql.createConnection({ host: inst.ip[0], port: inst.port, user: 'app', password: PASSWORD, database: 'app', connectTimeout: 5000 })
      c.on('error', () => undefined)
      return { run: async (sql, params = []) => (await c.query(sql, params))[0] as any[], end: () => c.end() }
    },
  },
]

describe('automatic failover of a synchronous set', () => {
  let coffer: CofferProcess
  let api: TestClient
  const squatters: Server[] = []

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => {
    for (const s of squatters) s.close()
    await coffer?.destroy()
  })

  for (const e of ENGINES) it(`${e.datastore.type}: has every acknowledged row on the promoted replica`, async () => {
    const { source, replicas } = await makeSet(api, `sync-fo-${e.datastore.type}`, 2, { auto_failover: true, sync: true, datastore: e.datastore })
    const setup = await e.connect(source)
    await setup.run('CREATE TABLE t (n int primary key)')
    await setup.end()
    await api.waitFor(source.id, (x) => (x.body.instance.replication?.synchronous ?? 0) >= 1, 30_000)

    const acknowledged: number[] = []
    const writer = await e.connect(source)
    const writing = (async () => {
      for (let n = 1; ; n++) {
        try {
          await writer.run(`INSERT INTO t VALUES (${n})`)
        } catch {
          return
        }
        acknowledged.push(n)
      }
    })()
    while (acknowledged.length < 300) await sleep(10)
    squatters.push((await loseEngine(coffer, source)).squatter)
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
    const reader = await e.connect(promoted)
    const have = new Set((await reader.run('SELECT n FROM t')).map((r) => Number(r.n)))
    assert.equal(acknowledged.filter((n) => have.has(n)).length, acknowledged.length, `every acknowledged row is on the new source (${acknowledged.length} acknowledged)`)
    const failover = ((await api.api('GET', `/instances/${promoted.id}/events`)).body.events as any[]).find((ev) => ev.kind === 'failover')
    assert.match(failover?.message ?? '', /synchronous: no acknowledged write was lost/)
    console.log(`# ${e.datastore.type}: ${acknowledged.length} writes acknowledged before the kill, all on the new source`)

    await reader.run('INSERT INTO t VALUES (0)')
    await reader.end()
    for (const id of [follower.id, promoted.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [follower.id, promoted.id, source.id]) await api.waitGone(id)
  })
})
