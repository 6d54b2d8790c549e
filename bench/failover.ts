/**
 * bench/failover: replica sets per engine, on one Coffer with a source loaded with ~1 GiB (`--gb`):
 *   replica to streaming  — POST /instances {replica_of} to the replica ACTIVE and its replication
 *                           connected (seeded by the engine's own tools from the loaded source)
 *   lag under load        — the replica's `replication` (GET, as its heartbeats say it) sampled
 *                           while two writers insert batches on the source for 10 s: the most bytes
 *                           and seconds seen
 *   planned promote       — POST promote_to_replica_source to the first write the replica accepts
 *   automatic failover    — every process of the source's engine SIGKILLed (its port taken, so its
 *                           node cannot restart it) to the first write accepted again, by a writer
 *                           that counts acknowledged writes; then how many of those are missing on
 *                           the new source. PostgreSQL and MariaDB sets are made `sync: true` first.
 * Writes go through the set's writer endpoint (`endpoints.writer` of GET /instances/{id}) when
 * Coffer shows one, else to the replica's own address; the table says which.
 * Usage: node dist/bench/failover.js [--gb 1] [--only postgresql,mariadb,redis]
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:net'
import { cpus, loadavg } from 'node:os'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from '../test/helpers/admin-session.js'
import type { TestClient } from '../test/helpers/api-client.js'
import { loseEngine } from '../test/helpers/failover.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const gb = Number(arg('--gb')) || 1
const only = arg('--only')?.split(',')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const PASSWORD = 'bench-Passw0rd'
const POLL_MS = 50
const LOAD_SECONDS = 10

interface Where {
  readonly host: string
  readonly port: number
}

/** A connection that writes one small row (key) `n` per call, acknowledged when it resolves. */
interface Writer {
  write(n: number): Promise<void>
  close(): Promise<void>
}

interface EngineCase {
  readonly datastore: string
  readonly version: string
  readonly sync: boolean
  readonly schema: Record<string, unknown>
  /** Writes about `bytes` through the client user. */
  load(w: Where, bytes: number): Promise<void>
  /** Writes about 4 MiB that take no lasting room (Redis holds everything in memory). */
  churn(w: Where): Promise<void>
  writer(w: Where): Promise<Writer>
  /** How many of the rows (keys) `ns` are there. */
  has(w: Where, ns: readonly number[]): Promise<number>
}

const SCHEMA = { databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] }

const pgConnect = async (w: Where): Promise<pg.Client> => {
  const c = new pg.Client({ ...w, user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 2000 })
  c.on('error', () => undefined)
  await c.connect()
  return c
}
const withPg = async <T>(w: Where, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = await pgConnect(w)
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => undefined)
  }
}
const mariaConnect = (w: Where) => mysql.createConnection({ ...w, user: 'app', password: PASSWORD, database: 'app', connectTimeout: 2000 })
const withMaria = async <T>(w: Where, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
  const c = await mariaConnect(w)
  c.on('error', () => undefined)
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => undefined)
  }
}
const redisConnect = async (w: Where): Promise<Redis> => {
  const r = new Redis({ ...w, username: 'app', password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 })
  r.on('error', () => undefined)
  await r.connect()
  return r
}

const BATCH = 500

const postgresql: EngineCase = {
  datastore: 'postgresql',
  version: '15',
  sync: true,
  schema: SCHEMA,
  async load(w, bytes) {
    await withPg(w, (c) => c.query('CREATE TABLE IF NOT EXISTS t (id bigserial primary key, v text not null); CREATE TABLE IF NOT EXISTS acks (n int primary key)'))
    let left = Math.ceil(bytes / 1385)
    const worker = () => withPg(w, async (c) => {
      while (left > 0) {
        const n = Math.min(BATCH, left)
        left -= n
        await c.query(`INSERT INTO t (v) SELECT encode((SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 64) WHERE g > 0), 'base64') FROM generate_series(1, ${n}) g`)
      }
    })
    await Promise.all([worker(), worker()])
  },
  churn: (w) => postgresql.load(w, 4 * 2 ** 20),
  async writer(w) {
    const c = await pgConnect(w)
    return { write: async (n) => void (await c.query('INSERT INTO acks VALUES ($1)', [n])), close: () => c.end().catch(() => undefined) }
  },
  has: (w, ns) => withPg(w, async (c) => Number((await c.query('SELECT count(*) AS n FROM acks WHERE n = ANY($1::int[])', [ns])).rows[0].n)),
}

const mariadb: EngineCase = {
  datastore: 'mariadb',
  version: '10.11',
  sync: true,
  schema: SCHEMA,
  async load(w, bytes) {
    await withMaria(w, async (c) => {
      await c.query('CREATE TABLE IF NOT EXISTS t (id bigint auto_increment primary key, v mediumtext not null)')
      await c.query('CREATE TABLE IF NOT EXISTS acks (n int primary key)')
    })
    let left = Math.ceil(bytes / 1368)
    const worker = () => withMaria(w, async (c) => {
      while (left > 0) {
        const n = Math.min(BATCH, left)
        left -= n
        await c.query(`INSERT INTO t (v) SELECT TO_BASE64(RANDOM_BYTES(1024)) FROM seq_1_to_${n}`)
      }
    })
    await Promise.all([worker(), worker()])
  },
  churn: (w) => mariadb.load(w, 4 * 2 ** 20),
  async writer(w) {
    const c = await mariaConnect(w)
    c.on('error', () => undefined)
    return { write: async (n) => void (await c.query('INSERT INTO acks VALUES (?)', [n])), close: () => c.end().catch(() => undefined) }
  },
  has: (w, ns) => withMaria(w, async (c) => Number(((await c.query(`SELECT COUNT(*) AS n FROM acks WHERE n IN (${ns.map(Number).join(',') || 'NULL'})`))[0] as { n: number }[])[0]!.n)),
}

const redis: EngineCase = {
  datastore: 'redis',
  version: '7.0',
  sync: false,
  schema: { users: [{ name: 'app', password: PASSWORD, databases: [] }] },
  async load(w, bytes) {
    const r = await redisConnect(w)
    try {
      const value = 'x'.repeat(16 * 1024)
      const keys = Math.ceil(bytes / value.length)
      for (let i = 0; i < keys; i += 64) {
        const p = r.pipeline()
        for (let k = i; k < Math.min(keys, i + 64); k++) p.set(`k:${k}:${Math.random()}`, value)
        await p.exec()
      }
    } finally {
      r.disconnect()
    }
  },
  async churn(w) {
    const r = await redisConnect(w)
    try {
      const p = r.pipeline()
      for (let k = 0; k < 256; k++) p.set(`churn:${k}`, randomBytes(12 * 1024).toString('base64'))
      await p.exec()
    } finally {
      r.disconnect()
    }
  },
  async writer(w) {
    const r = await redisConnect(w)
    return { write: async (n) => void (await r.set(`ack:${n}`, '1')), close: async () => r.disconnect() }
  },
  async has(w, ns) {
    const r = await redisConnect(w)
    try {
      let found = 0
      for (let i = 0; i < ns.length; i += 1000) found += await r.exists(...ns.slice(i, i + 1000).map((n) => `ack:${n}`))
      return found
    } finally {
      r.disconnect()
    }
  },
}

const CASES = [postgresql, mariadb, redis].filter((e) => !only || only.includes(e.datastore))

interface Figures {
  readonly engine: string
  readonly seed: number
  readonly lagBytes: number
  readonly lagSeconds: number
  readonly promote: number
  readonly failover: number
  readonly through: string
  readonly acknowledged: number
  readonly lost: number
  readonly sync: boolean
}

const instance = async (api: TestClient, id: string): Promise<any> => (await api.api('GET', `/instances/${id}`)).body?.instance
async function until(api: TestClient, id: string, done: (i: any) => boolean, timeoutMs = 1_800_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const i = await instance(api, id)
    if (i && done(i)) return i
    if (i?.status === 'ERROR') throw new Error(`${id} is in ERROR: ${JSON.stringify({ fault: i.fault, replication: i.replication, replica_of: i.replica_of })}`)
    if (Date.now() > deadline) throw new Error(`${id} did not get there: ${JSON.stringify(i)}`)
    await sleep(POLL_MS)
  }
}
const whereOf = (i: any): Where => ({ host: i.ip[0], port: i.port })
/** The set's writer endpoint when Coffer shows one (`endpoints.writer`), else the instance's own address. */
const writerOf = (i: any): { where: Where; through: string } =>
  i.endpoints?.writer ? { where: { host: i.endpoints.writer.address, port: i.endpoints.writer.port }, through: 'endpoints.writer' } : { where: whereOf(i), through: "the new source's own address" }

/** Tries a write every 20 ms until one is acknowledged; resolves with the ms it took. */
async function firstWrite(e: EngineCase, where: () => Where, n: number, t0: number, timeoutMs = 120_000): Promise<number> {
  for (;;) {
    try {
      const w = await e.writer(where())
      try {
        await w.write(n)
        return performance.now() - t0
      } finally {
        await w.close()
      }
    } catch (err) {
      if (performance.now() - t0 > timeoutMs) throw new Error(`no write accepted within ${timeoutMs / 1000} s: ${(err as Error).message}`)
      await sleep(20)
    }
  }
}


async function run(e: EngineCase): Promise<Figures> {
  const { coffer, api } = await startCofferAsAdmin({ COFFER_HEARTBEAT_MS: '1000', COFFER_MAX_VOLUME_GB: '100' })
  const squatters: Server[] = []
  let writing = false
  try {
    // Room for the data three times over: Redis keeps it in memory under a maxmemory of 60% of the
    // flavor, and a full Redis refuses the writes the bench counts.
    const ramMb = Math.max(1024, Math.ceil(gb * 3) * 1024)
    const volumeGb = Math.max(2, Math.ceil(gb * 4))
    const flavor = await api.api('POST', '/flavors', { flavor: { name: 'bench', ram: ramMb, vcpus: 2, disk: volumeGb } })
    if (flavor.status !== 200) throw new Error(`flavor: ${JSON.stringify(flavor.body)}`)
    const created = await api.api('POST', '/instances', { instance: { name: 'a', flavorRef: flavor.body.flavor.id, volume: { size: volumeGb }, datastore: { type: e.datastore, version: e.version }, auto_failover: true, ...e.schema } })
    if (created.status !== 200) throw new Error(`create: ${JSON.stringify(created.body)}`)
    const source = await until(api, created.body.instance.id, (i) => i.status === 'ACTIVE')
    const t = performance.now()
    await e.load(whereOf(source), Math.round(gb * 2 ** 30))
    console.error(`${e.datastore}: loaded ~${gb} GiB in ${((performance.now() - t) / 1000).toFixed(1)} s`)

    // Replica create to streaming.
    const s0 = performance.now()
    const r = await api.api('POST', '/instances', { instance: { name: 'b', replica_of: source.id } })
    if (r.status !== 200) throw new Error(`replica: ${JSON.stringify(r.body)}`)
    const replica = await until(api, r.body.instance.id, (i) => i.status === 'ACTIVE' && i.replication?.connected === true)
    const seed = performance.now() - s0
    console.error(`${e.datastore}: replica streaming after ${(seed / 1000).toFixed(1)} s`)

    // Lag under a write load (asynchronous): two writers of batches for LOAD_SECONDS.
    let lagBytes = 0
    let lagSeconds = 0
    let loading = true
    const sampler = (async () => {
      while (loading) {
        const rep = (await instance(api, replica.id))?.replication
        lagBytes = Math.max(lagBytes, rep?.lagBytes ?? 0)
        lagSeconds = Math.max(lagSeconds, rep?.lagSeconds ?? 0)
        await sleep(250)
      }
    })()
    const loadEnd = performance.now() + LOAD_SECONDS * 1000
    await Promise.all([0, 1].map(async () => {
      while (performance.now() < loadEnd) await e.churn(whereOf(source))
    }))
    await sleep(1500)
    loading = false
    await sampler

    if (e.sync) {
      const s = await api.api('PUT', `/instances/${source.id}`, { instance: { sync: true } })
      if (s.status !== 202) throw new Error(`sync: ${JSON.stringify(s.body)}`)
    }

    // Planned promote: the request to the first write the replica takes.
    await until(api, replica.id, (i) => i.status === 'ACTIVE' && (i.replication?.lagBytes ?? 0) === 0)
    const p0 = performance.now()
    const pr = await api.api('POST', `/instances/${replica.id}/action`, { promote_to_replica_source: {} })
    if (pr.status !== 202) throw new Error(`promote: ${JSON.stringify(pr.body)}`)
    const promote = await firstWrite(e, () => whereOf(replica), -1, p0)
    await until(api, source.id, (i) => i.status === 'ACTIVE' && i.replica_of?.id === replica.id && i.replication?.connected === true)
    await until(api, replica.id, (i) => i.status === 'ACTIVE' && (!e.sync || (i.replication?.synchronous ?? 0) >= 1))
    console.error(`${e.datastore}: promoted in ${(promote / 1000).toFixed(2)} s`)

    // Automatic failover: the new source (the replica) dies under a counting writer.
    const current = await instance(api, replica.id)
    const target = writerOf(current)
    const acked: number[] = []
    let n = 0
    writing = true
    const writer = (async () => {
      while (writing) {
        try {
          const w = await e.writer(target.where)
          try {
            while (writing) {
              const k = ++n
              await w.write(k)
              acked.push(k)
            }
          } finally {
            await w.close()
          }
        } catch {
          await sleep(5)
        }
      }
    })()
    for (const t = performance.now(); acked.length < 200; await sleep(5)) {
      if (performance.now() - t < 60_000) continue
      writing = false
      throw new Error(`the writer had ${acked.length} writes acknowledged after 60 s`)
    }
    const k0 = performance.now()
    squatters.push((await loseEngine(coffer, current)).squatter)
    const before = acked.length
    // Writes accepted again: through the writer endpoint, else on the old source (the one promoted).
    const failover = await firstWrite(e, () => (target.through === 'endpoints.writer' ? target.where : whereOf(source)), -2, k0)
    writing = false
    await writer
    await until(api, source.id, (i) => i.status === 'ACTIVE' && !i.replica_of)
    const kept = await e.has(whereOf(source), acked.slice(0, before))
    console.error(`${e.datastore}: failover in ${(failover / 1000).toFixed(2)} s; ${before} acknowledged before the kill, ${before - kept} missing`)
    return { engine: e.datastore, seed, lagBytes, lagSeconds, promote, failover, through: target.through, acknowledged: before, lost: before - kept, sync: e.sync }
  } catch (err) {
    // What the server said last is what explains a failed run.
    console.error(coffer.output().split('\n').slice(-40).join('\n'))
    throw err
  } finally {
    writing = false
    for (const s of squatters) s.close()
    await coffer.destroy()
  }
}

const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`
console.log(`Replica sets per engine, source loaded with ~${gb} GiB (${new Date().toISOString().slice(0, 16)}Z, ${machine})\n`)
const figures: Figures[] = []
for (const e of CASES) {
  try {
    figures.push(await run(e))
  } catch (err) {
    console.log(`${e.datastore}: failed: ${(err as Error).stack}`)
  }
}
const s = (ms: number) => (ms / 1000).toFixed(2)
console.log(`| engine | replica create to streaming (${gb} GiB) | lag under load: most bytes / s | planned promote (target < 1 s) | automatic failover (target < 5 s) | writes through | acknowledged writes lost (target 0 in sync mode) |`)
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const f of figures) {
  console.log(`| ${f.engine} | ${s(f.seed)} s | ${f.lagBytes} B / ${f.lagSeconds.toFixed(1)} s | ${s(f.promote)} s | ${s(f.failover)} s | ${f.through} | ${f.lost} of ${f.acknowledged} (${f.sync ? 'sync' : 'async'}) |`)
}
