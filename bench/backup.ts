/**
 * bench/backup: Coffer's backups and restores against the engines' own tools by hand, per engine,
 * in one run, on the same data: ~1 GiB (`--gb`) of base64 text of random bytes (zstd -1 leaves
 * about 76% of it), loaded into one Coffer instance through its client user. The instance is then
 * stopped, its data folder copied, and started again; the bare tools run on a server started by
 * hand on the copy (bench/backup-bare.ts says what each does). Then, on the instance:
 *   coffer backup   — POST /backups to COMPLETED (the engine's stream → zstd -1 → chunked
 *                     AES-256-GCM → object store with sha256, then every object read back and its
 *                     tags and sha256 checked); `stream` is the object files' first write to last
 *                     write (their birth and modification times), the rest is the read-back and
 *                     bookkeeping. The second full backup is measured: the first one also ships the
 *                     binary logs the load wrote (MariaDB's archive for point in time).
 *   coffer restore  — POST /instances with restorePoint {backupRef} to ACTIVE
 *   point in time   — POST /instances with restorePoint {instanceRef, restoreTime} to ACTIVE
 * MiB/s are of the engine's stream as Coffer counted it (the backup's data_size_bytes), for every
 * column, so they compare as times do. Ratios: higher is better (bare time / Coffer time).
 * PostgreSQL's bare side is pgBackRest itself, as Coffer's backup is (its own zstd and AES-256-CBC).
 * Usage: node dist/bench/backup.js [--gb 1] [--runs 1] [--only postgresql,mariadb,redis]
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from '../test/helpers/admin-session.js'
import type { TestClient } from '../test/helpers/api-client.js'
import { freePort } from '../test/helpers/coffer-process.js'
import { at, type Where } from '../test/helpers/engines.js'
import { bareMariadbBackup, barePostgresqlBackup, bareRedisBackup, ownedBy, type BareEngine } from './backup-bare.js'
import { benchRoot, removeRoot } from './bare-engines.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const gb = Number(arg('--gb')) || 1
const only = arg('--only')?.split(',')
const runs = Math.max(1, Number(arg('--runs')) || 1)
const dataBytes = Math.round(gb * 2 ** 30)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const PASSWORD = 'bench-Passw0rd'
/** How often the bench asks the API: often enough for a tenth of a second, seldom enough to cost the server little. */
const POLL_MS = 100
const host = (w: Where) => (typeof w === 'number' ? { host: '127.0.0.1', port: w } : w)

interface EngineCase {
  readonly datastore: string
  readonly version: string
  readonly account: string
  readonly bare: BareEngine
  readonly pointInTime: boolean
  readonly schema: Record<string, unknown>
  /** Writes about `bytes` of base64 text through the client user. */
  load(w: Where, bytes: number): Promise<void>
  /** Rows (keys) held. */
  count(w: Where): Promise<number>
  /** Writes `n` small rows tagged `tag` (point in time). */
  write?(w: Where, tag: string, n: number): Promise<void>
  /** Rows tagged with a tag starting `tag`. */
  tagged?(w: Where, tag: string): Promise<number>
}

const withMaria = async <T>(w: Where, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
  const c = await mysql.createConnection({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectTimeout: 10_000 })
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}
const withPg = async <T>(w: Where, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = new pg.Client({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 10_000 })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}
const withRedis = async <T>(w: Where, fn: (r: Redis) => Promise<T>): Promise<T> => {
  const r = new Redis({ ...host(w), username: 'app', password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  await r.connect()
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

/** TO_BASE64(RANDOM_BYTES(1024)): 1368 characters and 18 line breaks a row. */
const MARIA_ROW = 1386
const MARIA_BATCH = 20_000

const mariadb: EngineCase = {
  datastore: 'mariadb',
  version: '10.11',
  account: 'mysql',
  bare: bareMariadbBackup,
  pointInTime: true,
  schema: { databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] },
  async load(w, bytes) {
    await withMaria(w, (c) => c.query('CREATE TABLE t (id bigint auto_increment primary key, v mediumtext not null, tag varchar(32), at timestamp(6) default current_timestamp(6))'))
    let left = Math.ceil(bytes / MARIA_ROW)
    // Two connections: the server makes the random text (RANDOM_BYTES, the Sequence engine's seq_1_to_N).
    const worker = () => withMaria(w, async (c) => {
      while (left > 0) {
        const n = Math.min(MARIA_BATCH, left)
        left -= n
        await c.query(`INSERT INTO t (v) SELECT TO_BASE64(RANDOM_BYTES(1024)) FROM seq_1_to_${n}`)
      }
    })
    await Promise.all([worker(), worker()])
  },
  count: (w) => withMaria(w, async (c) => Number(((await c.query('SELECT COUNT(*) AS n FROM t'))[0] as { n: number }[])[0]!.n)),
  write: (w, tag, n) => withMaria(w, async (c) => {
    for (let i = 0; i < n; i++) await c.query('INSERT INTO t (v, tag) VALUES (?, ?)', ['x', `${tag}-${i}`])
  }),
  tagged: (w, tag) => withMaria(w, async (c) => Number(((await c.query('SELECT COUNT(*) AS n FROM t WHERE tag LIKE ?', [`${tag}%`]))[0] as { n: number }[])[0]!.n)),
}

/** base64 of 1 KiB of random bytes (64 random UUIDs: no pgcrypto for a client user): 1368 characters and 17 line breaks. */
const PG_ROW = 1385

const postgresql: EngineCase = {
  datastore: 'postgresql',
  version: '15',
  account: 'postgres',
  bare: barePostgresqlBackup,
  pointInTime: true,
  schema: mariadb.schema,
  async load(w, bytes) {
    await withPg(w, (c) => c.query('CREATE TABLE t (id bigserial primary key, v text not null, tag text, at timestamptz default clock_timestamp())'))
    let left = Math.ceil(bytes / PG_ROW)
    const worker = () => withPg(w, async (c) => {
      while (left > 0) {
        const n = Math.min(MARIA_BATCH, left)
        left -= n
        await c.query(`INSERT INTO t (v) SELECT encode((SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 64) WHERE g > 0), 'base64') FROM generate_series(1, ${n}) g`)
      }
    })
    await Promise.all([worker(), worker()])
  },
  count: (w) => withPg(w, async (c) => Number((await c.query('SELECT count(*) AS n FROM t')).rows[0].n)),
  write: (w, tag, n) => withPg(w, async (c) => {
    for (let i = 0; i < n; i++) await c.query('INSERT INTO t (v, tag) VALUES ($1, $2)', ['x', `${tag}-${i}`])
  }),
  tagged: (w, tag) => withPg(w, async (c) => Number((await c.query('SELECT count(*) AS n FROM t WHERE tag LIKE $1', [`${tag}%`])).rows[0].n)),
}

/** Values of 16 KiB of base64 (12 KiB of random bytes). */
const REDIS_VALUE = 12 * 1024

const redis: EngineCase = {
  datastore: 'redis',
  version: '7.0',
  account: 'redis',
  bare: bareRedisBackup,
  pointInTime: false,
  schema: { users: [{ name: 'app', password: PASSWORD, databases: [] }] },
  load: (w, bytes) => withRedis(w, async (r) => {
    const keys = Math.ceil(bytes / ((REDIS_VALUE * 4) / 3))
    for (let i = 0; i < keys; i += 64) {
      const p = r.pipeline()
      for (let k = i; k < Math.min(keys, i + 64); k++) p.set(`k:${k}`, randomBytes(REDIS_VALUE).toString('base64'))
      await p.exec()
    }
  }),
  count: (w) => withRedis(w, (r) => r.dbsize()),
}

const CASES = [postgresql, mariadb, redis].filter((e) => !only || only.includes(e.datastore))

/** One round's figures, ms (bytes for the sizes). */
interface Round {
  readonly ceiling: number
  readonly zstd: number
  readonly zstdBytes: number
  readonly bareRestore: number
  readonly backup: number
  readonly stream: number
  readonly restore: number
  readonly dataBytes: number
  readonly storedBytes: number
}

interface Figures {
  readonly engine: string
  readonly load: number
  readonly firstBackup: number
  readonly rounds: readonly Round[]
  readonly pitr?: number
}

/** The object files of a backup: first birth and last modification, ms since 1970. */
function objectTimes(home: string, backupId: string): { born: number; written: number } {
  const dir = join(home, 'objects', 'backups', backupId)
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => statSync(join(d.parentPath, d.name)))
  return { born: Math.min(...files.map((s) => s.birthtimeMs)), written: Math.max(...files.map((s) => s.mtimeMs)) }
}

async function run(e: EngineCase): Promise<Figures> {
  const root = benchRoot()
  const { coffer, api } = await startCofferAsAdmin({ COFFER_ARCHIVE_SECONDS: '2', COFFER_HEARTBEAT_MS: '1000', COFFER_MAX_VOLUME_GB: '100' })
  try {
    // Room for the data, MariaDB's binary logs of the load, and Redis's fork while it saves.
    const ramMb = Math.max(1024, Math.ceil(gb * 4) * 1024)
    const volumeGb = Math.max(2, Math.ceil(gb * 5))
    const flavor = await api.api('POST', '/flavors', { flavor: { name: 'bench', ram: ramMb, vcpus: 2, disk: volumeGb } })
    if (flavor.status !== 200) throw new Error(`flavor: ${JSON.stringify(flavor.body)}`)
    const create = async (name: string, extra: Record<string, unknown>) => {
      const t = performance.now()
      const r = await api.api('POST', '/instances', { instance: { name, flavorRef: flavor.body.flavor.id, volume: { size: volumeGb }, ...extra } })
      if (r.status !== 200) throw new Error(`create ${name}: ${JSON.stringify(r.body)}`)
      const inst = await untilInstance(api, r.body.instance.id, (i) => ['ACTIVE', 'ERROR'].includes(i.status))
      if (inst.status !== 'ACTIVE') throw new Error(`${name} ended ${inst.status}: ${JSON.stringify(inst.fault)}`)
      return { inst, ms: performance.now() - t }
    }
    const drop = async (id: string) => {
      await api.api('DELETE', `/instances/${id}`)
      await api.waitGone(id)
    }
    const source = (await create('source', { datastore: { type: e.datastore, version: e.version }, ...e.schema })).inst
    const where = at(source)
    const loadStart = performance.now()
    await e.load(where, dataBytes)
    const load = performance.now() - loadStart
    const rows = await e.count(where)
    console.error(`${e.datastore}: loaded ${rows} rows in ${(load / 1000).toFixed(1)} s`)

    // The bare side, on a copy of the instance's data folder taken while it is stopped.
    await action(api, source.id, 'stop')
    await untilInstance(api, source.id, (i) => i.operating_status === 'SHUTDOWN')
    const copy = join(root, 'copy')
    execFileSync('cp', ['-a', join(coffer.home, 'instances', source.id, 'volume', 'data'), copy])
    ownedBy(copy, e.account)
    await action(api, source.id, 'start')
    await untilInstance(api, source.id, (i) => i.status === 'ACTIVE')
    const zstdFile = join(root, 'bare.zst')
    const backup = async (name: string) => {
      const t = performance.now()
      const r = await api.api('POST', '/backups', { backup: { name, instance: source.id } })
      if (r.status !== 202) throw new Error(`backup: ${JSON.stringify(r.body)}`)
      for (;;) {
        const b = (await api.api('GET', `/backups/${r.body.backup.id}`)).body.backup
        if (b.status === 'COMPLETED') {
          const ms = performance.now() - t
          await untilInstance(api, source.id, (i) => i.status === 'ACTIVE')
          return { b, ms }
        }
        if (!['NEW', 'BUILDING', 'SAVING'].includes(b.status)) throw new Error(`backup ${b.status}: ${JSON.stringify(b)}`)
        await sleep(POLL_MS)
      }
    }
    // The first backup is not measured: it also ships the load's binary logs (MariaDB's archive).
    const first = await backup('first')
    // Rounds of bare tool, bare restore, Coffer backup and Coffer restore, one after another: a
    // round's figures are taken close together, so a busy spell of the machine weighs on both sides.
    const rounds: Round[] = []
    try {
      for (let i = 0; i < runs; i++) {
        // The bare server runs only for its own figures, as Coffer's source is the only engine then.
        const bare = await e.bare.start(copy, await freePort())
        let ceiling: number
        let zstd: number
        try {
          ceiling = await bare.ceiling()
          zstd = await bare.zstd(zstdFile)
        } finally {
          await bare.stop()
        }
        const zstdBytes = e.datastore === 'postgresql' ? 0 : statSync(zstdFile).size
        const bareRestore = await e.bare.restore(zstdFile, join(root, 'restored'), await freePort())
        rmSync(join(root, 'restored'), { recursive: true, force: true })
        const measured = await backup(`measured-${i}`)
        // pgBackRest writes its own repository (pgbackrest/<stanza>/...), not objects under backups/<id>/.
        const times = e.datastore === 'postgresql' ? { born: 0, written: NaN } : objectTimes(coffer.home, measured.b.id)
        const restored = await create('restored', { restorePoint: { backupRef: measured.b.id } })
        const got = await e.count(at(restored.inst))
        if (got !== rows) throw new Error(`the restored instance holds ${got} rows, the source ${rows}`)
        await drop(restored.inst.id)
        const round: Round = {
          ceiling, zstd, zstdBytes, bareRestore, backup: measured.ms, stream: times.written - times.born, restore: restored.ms,
          dataBytes: measured.b.data_size_bytes, storedBytes: Math.round(measured.b.size * 2 ** 30),
        }
        rounds.push(round)
        console.error(`${e.datastore} round ${i + 1}: bare ${s(ceiling)} / ${s(zstd)} / restore ${s(bareRestore)} s; Coffer backup ${s(round.backup)} s (${(zstd / round.backup).toFixed(2)}x), restore ${s(round.restore)} s (${(bareRestore / round.restore).toFixed(2)}x)`)
      }
    } finally {
      rmSync(copy, { recursive: true, force: true })
      rmSync(zstdFile, { force: true })
    }

    let pitr: number | undefined
    if (e.pointInTime && e.write && e.tagged) {
      await e.write(where, 'pitr-a', 3)
      await sleep(1500)
      const between = new Date().toISOString()
      await sleep(1500)
      await e.write(where, 'pitr-b', 3)
      await untilInstance(api, source.id, (i) => i.restorable?.latest > between, 120_000)
      const r = await create('pitr', { restorePoint: { instanceRef: source.id, restoreTime: between } })
      const [a, b] = [await e.tagged(at(r.inst), 'pitr-a'), await e.tagged(at(r.inst), 'pitr-b')]
      if (a !== 3 || b !== 0) throw new Error(`the point-in-time restore holds ${a} rows before the time and ${b} after (3 and 0 expected)`)
      pitr = r.ms
      await drop(r.inst.id)
    }
    await drop(source.id)
    return { engine: `${e.datastore} ${e.version}`, load, firstBackup: first.ms, rounds, ...(pitr !== undefined ? { pitr } : {}) }
  } finally {
    if (process.env.COFFER_TRACE_STEPS === '1') console.error(coffer.output().split('\n').filter((l) => / step |TRACE phase|task .* done/.test(l)).join('\n'))
    await coffer.destroy()
    removeRoot(root)
  }
}

async function action(api: TestClient, id: string, what: 'stop' | 'start'): Promise<void> {
  const r = await api.api('POST', `/instances/${id}/action`, { [what]: {} })
  if (r.status !== 202) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`)
}

async function untilInstance(api: TestClient, id: string, done: (i: any) => boolean, ms = 900_000): Promise<any> {
  const deadline = Date.now() + ms
  for (;;) {
    const i = (await api.api('GET', `/instances/${id}`)).body?.instance
    if (i && done(i)) return i
    if (Date.now() > deadline) throw new Error(`instance ${id} did not get there in time: ${JSON.stringify(i)}`)
    await sleep(POLL_MS)
  }
}

const s = (ms: number) => (ms / 1000).toFixed(1)
const rate = (bytes: number, ms: number) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s`

const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`
console.log(`Backups and restores of ~${gb} GiB per engine (${new Date().toISOString().slice(0, 16)}Z, ${machine}); seconds and MiB/s of the engine's stream\n`)
const figures: Figures[] = []
for (const e of CASES) {
  try {
    figures.push(await run(e))
  } catch (err) {
    console.log(`${e.datastore}: failed: ${(err as Error).stack}`)
  }
}
/** The middle value (the lower middle of an even count). */
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
const of = (f: Figures, pick: (r: Round) => number): number => median(f.rounds.map(pick))
const ratio = (f: Figures, pick: (r: Round) => number) => `**${of(f, pick).toFixed(2)}x**`

console.log(`${runs === 1 ? 'One round' : `Medians of ${runs} rounds`} per engine (a round: bare tool, bare restore, Coffer backup, Coffer restore; each ratio is the median of the rounds' own ratios).\n`)
console.log('| engine | data (stream) | bare tool to /dev/null | bare tool \\| zstd -1 to a file | Coffer backup to COMPLETED (stream phase) | backup ratio (target ≥ 0.9x) | bare restore | Coffer restore to ACTIVE | restore ratio (target ≥ 0.8x) | point-in-time restore to ACTIVE |')
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const f of figures) {
  const d = of(f, (r) => r.dataBytes)
  const stored = of(f, (r) => r.storedBytes)
  const [ceiling, zstd, backup, stream, bareRestore, restore] = [of(f, (r) => r.ceiling), of(f, (r) => r.zstd), of(f, (r) => r.backup), of(f, (r) => r.stream), of(f, (r) => r.bareRestore), of(f, (r) => r.restore)]
  console.log(
    `| ${f.engine} | ${(d / 2 ** 30).toFixed(2)} GiB${stored > 0 ? ` → ${(stored / 2 ** 30).toFixed(2)} GiB stored` : ''} | ${s(ceiling)} s, ${rate(d, ceiling)} | ${s(zstd)} s, ${rate(d, zstd)} ` +
      `| ${s(backup)} s, ${rate(d, backup)}${Number.isNaN(stream) ? '' : ` (${s(stream)} s, ${rate(d, stream)})`} | ${ratio(f, (r) => r.zstd / r.backup)} | ${s(bareRestore)} s, ${rate(d, bareRestore)} ` +
      `| ${s(restore)} s, ${rate(d, restore)} | ${ratio(f, (r) => r.bareRestore / r.restore)} | ${f.pitr !== undefined ? `${s(f.pitr)} s` : 'n/a'} |`,
  )
}
console.log('')
for (const f of figures) {
  const zstdBytes = of(f, (r) => r.zstdBytes)
  const each = f.rounds.map((r) => `${(r.zstd / r.backup).toFixed(2)}x / ${(r.bareRestore / r.restore).toFixed(2)}x`).join(', ')
  console.log(`- ${f.engine}: load ${s(f.load)} s; first backup ${s(f.firstBackup)} s${zstdBytes ? `; zstd -1 file ${(zstdBytes / 2 ** 30).toFixed(2)} GiB` : ''}; rounds (backup / restore ratio): ${each}`)
}
for (const e of CASES) console.log(`- bare ${e.datastore}: ${e.bare.what.ceiling}; ${e.bare.what.zstd}; restore: ${e.bare.what.restore}`)

