/**
 * PostgreSQL streaming replication at the guest level, against real PostgreSQL 15 engines: a source
 * A, replicas B and C seeded from it; read-only replicas (user and root); status; synchronous
 * commits; a planned switchover (fence A, B catches up, B promoted, A and C follow B); then a
 * failover with divergence (B writes a row nobody received and crashes, C is promoted, B and A
 * rejoin through pg_rewind and lose that row). KEEP_PG_REPL=1 keeps the engines and folders for a
 * look at their logs (then stop them yourself).
 */
import assert from 'node:assert/strict'
import { copyFile, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { signal } from '../src/guest/datastores/common/process.js'
import type { InstanceContext } from '../src/guest/datastores/datastore.js'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { dataDir, postmaster } from '../src/guest/datastores/postgresql/manager.js'
import { readRecord } from '../src/guest/datastores/postgresql/standby.js'
import type { ReplicationAdmin, ReplicationSource } from '../src/guest/datastores/replication.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const ID = { a: '00000000-0000-4000-8000-00000000000a', b: '00000000-0000-4000-8000-00000000000b', c: '00000000-0000-4000-8000-00000000000c' }
const ALICE = { user: 'alice', password: 'alice-Secret-1', database: 'shop' }
const ROOT = { user: 'root', password: 'root-Secret-1', database: 'postgres' }
type Login = typeof ALICE

describe('PostgreSQL replication', async () => {
  const manifest = await postgresql.discover()
  const version = manifest.versions.find((v) => v.name === '15')
  const repl = postgresql.replication as ReplicationAdmin
  let guest: GuestHome | undefined
  let a: InstanceContext
  let b: InstanceContext
  let c: InstanceContext
  let account: { user: string; password: string }
  const sourceOf = (ctx: InstanceContext, instanceId: string): ReplicationSource => ({ instanceId, host: ctx.bindAddress, port: ctx.port, ...account })

  const client = async (ctx: InstanceContext, login: Login): Promise<pg.Client> => {
    const cl = new pg.Client({ host: '127.0.0.1', port: ctx.port, user: login.user, password: login.password, database: login.database, connectionTimeoutMillis: 5000 })
    cl.on('error', () => undefined)
    await cl.connect()
    return cl
  }
  const sql = async <T extends pg.QueryResultRow = pg.QueryResultRow>(ctx: InstanceContext, login: Login, text: string, values: unknown[] = []): Promise<T[]> => {
    const cl = await client(ctx, login)
    try {
      return (await cl.query<T>(text, values)).rows
    } finally {
      await cl.end().catch(() => undefined)
    }
  }
  const items = async (ctx: InstanceContext): Promise<string[]> => (await sql<{ item: string }>(ctx, ALICE, 'SELECT item FROM orders ORDER BY id')).map((r) => r.item)
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await sleep(20)
    }
  }
  const seesItem = (ctx: InstanceContext, item: string): Promise<void> => waitFor(`${item} on ${ctx.instanceId}`, async () => (await items(ctx)).includes(item))
  /** The node's part: the replica logs in with its source's service secret. */
  const giveServiceSecret = (from: InstanceContext, to: InstanceContext): Promise<void> =>
    copyFile(join(from.guestDir, 'postgresql-service.json'), join(to.guestDir, 'postgresql-service.json'))
  const refusesWrites = async (ctx: InstanceContext): Promise<void> => {
    await assert.rejects(sql(ctx, ALICE, "INSERT INTO orders VALUES (999, 'nope')"), /read-only transaction/)
    await assert.rejects(sql(ctx, ROOT, 'CREATE DATABASE nope'), /read-only transaction/)
    // A superuser may turn a read-only default off in its session: a hot standby still refuses.
    const cl = await client(ctx, ROOT)
    try {
      await cl.query('SET default_transaction_read_only = off').catch(() => undefined)
      await assert.rejects(cl.query('CREATE TABLE t_nope (x int)'), /read-only transaction/)
    } finally {
      await cl.end().catch(() => undefined)
    }
  }

  before(async () => {
    assert.ok(version, 'PostgreSQL 15 is installed')
    guest = await makeGuestHome(postgresql, version, { label: 'pg-repl', instanceId: ID.a, stopSignal: 'SIGQUIT' })
    a = guest.ctx
    b = await guest.newContext('b', ID.b)
    c = await guest.newContext('c', ID.c)
    await postgresql.engine.prepare(a, { databases: [{ name: 'shop' }], users: [{ name: 'alice', password: ALICE.password, databases: [{ name: 'shop' }] }] })
    await postgresql.root?.enable(a, ROOT.password)
    await sql(a, ALICE, 'CREATE TABLE orders (id int PRIMARY KEY, item text)')
    await sql(a, ALICE, "INSERT INTO orders VALUES (1, 'before-replica')")
  })

  after(() => (process.env['KEEP_PG_REPL'] ? console.log(guest?.home) : guest?.cleanup()))

  it('offers replication', () => {
    assert.equal(manifest.capabilities.replication, true)
  })

  it('prepares the source once: an account that streams from anywhere, wal_log_hints on', async () => {
    account = await repl.prepareSource(a)
    assert.equal(account.user, 'coffer_replication')
    assert.deepEqual(await repl.prepareSource(a), account, 'idempotent, same password')
    const secret = join(a.guestDir, 'postgresql-replication-account.json')
    assert.equal((await stat(secret)).mode & 0o777, 0o600)
    const hba = await readFile(join(dataDir(a), 'pg_hba.conf'), 'utf8')
    assert.match(hba, /^host {4}replication {2}coffer_replication {2}all {2}scram-sha-256$/m)
    const [s] = await sql(a, ROOT, "SELECT current_setting('wal_level') AS wl, current_setting('wal_log_hints') AS hints, current_setting('max_slot_wal_keep_size') AS bound")
    assert.deepEqual([s?.wl, s?.hints], ['replica', 'on'])
    assert.notEqual(s?.bound, '-1', 'a dead replica\'s slot cannot fill the volume')
  })

  it('seeds a replica that sees rows written before and after it existed, and refuses writes', async (t) => {
    // Some volume, so the seed's figure means something.
    await sql(a, ALICE, "CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 200000) g")
    const [size] = await sql<{ mb: number }>(a, ROOT, 'SELECT (sum(pg_database_size(datname)) / 1048576)::int AS mb FROM pg_database')
    await giveServiceSecret(a, b)
    let started = performance.now()
    await repl.seed(b, sourceOf(a, ID.a))
    t.diagnostic(`seed of ${size?.mb} MB (pg_basebackup -X stream): ${Math.round(performance.now() - started)} ms`)
    assert.equal(await postmaster(b), undefined, 'seed leaves the engine stopped')
    started = performance.now()
    await postgresql.engine.start(b)
    t.diagnostic(`replica start: ${Math.round(performance.now() - started)} ms`)
    assert.equal((await postgresql.engine.status(b)).healthy, true, 'the service login works on the replica')
    assert.deepEqual(await items(b), ['before-replica'])
    await sql(a, ALICE, "INSERT INTO orders VALUES (2, 'after-replica')")
    await seesItem(b, 'after-replica')
    await refusesWrites(b)
    assert.equal(await repl.seed(b, sourceOf(a, ID.a)), undefined, 'a second seed of a seeded replica changes nothing')
  })

  it('reports replication status on both sides', async () => {
    const sb = await repl.status(b)
    assert.equal(sb.role, 'replica')
    assert.equal(sb.connected, true)
    assert.equal(typeof sb.lagBytes, 'number')
    assert.equal(typeof sb.lagSeconds, 'number')
    assert.match(sb.position ?? '', /^[0-9A-F]+\/[0-9A-F]+$/)
    const sa = await repl.status(a)
    assert.deepEqual([sa.role, sa.replicas, sa.synchronous], ['source', 1, 0])
  })

  it('seeds a second replica', async () => {
    await giveServiceSecret(a, c)
    await repl.seed(c, sourceOf(a, ID.a))
    await postgresql.engine.start(c)
    await seesItem(c, 'after-replica')
    await waitFor('two replicas on A', async () => (await repl.status(a)).replicas === 2)
  })

  it('in synchronous mode, acknowledges a commit only once the synchronous replica has it', async (t) => {
    await repl.setSynchronous?.(a, [ID.b])
    await waitFor('B synchronous', async () => (await repl.status(a)).synchronous === 1)
    await sql(a, ALICE, "INSERT INTO orders VALUES (3, 'sync-ok')")
    await postgresql.engine.stop(b)
    const cl = await client(a, ALICE)
    try {
      const pid = (await cl.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
      const commit = cl.query("INSERT INTO orders VALUES (4, 'waits-for-b')").then(() => 'acknowledged', (e: Error) => e.message)
      const outcome = await Promise.race([commit, sleep(2000).then(() => 'still waiting')])
      assert.equal(outcome, 'still waiting', 'no acknowledgement without the synchronous replica')
      // A waiting commit ignores statement_timeout; a cancel ends the wait (the row is committed locally).
      await sql(a, ROOT, 'SELECT pg_cancel_backend($1)', [pid])
      t.diagnostic(`after cancel: ${await commit}`)
    } finally {
      await cl.end().catch(() => undefined)
    }
    await postgresql.engine.start(b)
    const t0 = performance.now()
    await sql(a, ALICE, "INSERT INTO orders VALUES (5, 'sync-after-restart')")
    t.diagnostic(`synchronous commit once B is back: ${Math.round(performance.now() - t0)} ms`)
    assert.ok((await items(b)).includes('sync-after-restart'), 'acknowledged means the synchronous replica has it')
    await repl.setSynchronous?.(a, [])
    assert.equal((await repl.status(a)).synchronous, 0)
  })

  it('switches over: fence A, B catches up and is promoted, A and C follow B', async (t) => {
    await sql(a, ALICE, "INSERT INTO orders VALUES (6, 'last-on-a')")
    const t0 = performance.now()
    const { position } = await repl.fence(a)
    const t1 = performance.now()
    await waitFor('B caught up', () => repl.caughtUp(b, position), 10_000)
    const t2 = performance.now()
    await repl.promote(b)
    const t3 = performance.now()
    await sql(b, ALICE, "INSERT INTO orders VALUES (7, 'first-on-b')")
    t.diagnostic(`planned promote: fence ${Math.round(t1 - t0)} ms, catch-up ${Math.round(t2 - t1)} ms, promote ${Math.round(t3 - t2)} ms; writable after ${Math.round(performance.now() - t0)} ms`)
    assert.ok((await items(b)).includes('last-on-a'), 'no committed write lost')
    // The fenced source is left stopped (its follow would stop it anyway); started, it is
    // read-only for everyone and still readable.
    assert.equal(await postmaster(a), undefined)
    await postgresql.engine.start(a)
    await refusesWrites(a)
    assert.equal((await repl.status(a)).role, 'fenced')
    assert.ok((await items(a)).includes('last-on-a'))
    // It stays fenced across a restart.
    await postgresql.engine.stop(a)
    await postgresql.engine.start(a)
    await refusesWrites(a)
    assert.equal((await repl.status(b)).role, 'source')

    const fromB = await repl.prepareSource(b)
    assert.deepEqual(fromB, account, 'the set keeps one replication account')
    let s = performance.now()
    await repl.follow(a, sourceOf(b, ID.b))
    t.diagnostic(`old source rejoins (pg_rewind, nothing to rewind): ${Math.round(performance.now() - s)} ms`)
    s = performance.now()
    await repl.follow(c, sourceOf(b, ID.b))
    t.diagnostic(`second replica repointed: ${Math.round(performance.now() - s)} ms`)
    await repl.follow(c, sourceOf(b, ID.b)) // idempotent
    await seesItem(a, 'first-on-b')
    await seesItem(c, 'first-on-b')
    await refusesWrites(a)
    assert.equal((await readRecord(a))?.rewound, undefined, 'nothing was thrown away')
    await waitFor('A and C stream from B', async () => (await repl.status(b)).replicas === 2)
    const sa = await repl.status(a)
    assert.deepEqual([sa.role, sa.connected], ['replica', true])
    // B's restarts keep it a source (standby.signal never comes back).
    await postgresql.engine.stop(b)
    await postgresql.engine.start(b)
    await sql(b, ALICE, "INSERT INTO orders VALUES (8, 'b-after-restart')")
    await seesItem(a, 'b-after-restart')
  })

  it('fails over: B crashes with a row nobody has, C is promoted, B and A rejoin C through pg_rewind', async (t) => {
    // A and C stop receiving; B takes one more write and crashes.
    await postgresql.engine.stop(c)
    await postgresql.engine.stop(a)
    await sql(b, ALICE, "INSERT INTO orders VALUES (9, 'lost-with-b')")
    const pm = await postmaster(b)
    assert.ok(pm)
    signal(pm.pid, 'SIGKILL')
    await waitFor('B gone', async () => (await postmaster(b)) === undefined)
    // The node fences the dead source: whatever starts it later, it is not writable.
    const fenced = await repl.fence(b)
    assert.match(fenced.position, /^[0-9A-F]+\/[0-9A-F]+$/)
    assert.equal((await readRecord(b))?.role, 'fenced')
    // C (stopped) is promoted.
    const s = performance.now()
    await repl.promote(c)
    t.diagnostic(`promote of a stopped replica (start + promote): ${Math.round(performance.now() - s)} ms`)
    await sql(c, ALICE, "INSERT INTO orders VALUES (10, 'first-on-c')")
    const fromC = await repl.prepareSource(c)
    const r = performance.now()
    await repl.follow(b, { ...sourceOf(c, ID.c), ...fromC })
    t.diagnostic(`crashed old source rejoins through pg_rewind: ${Math.round(performance.now() - r)} ms`)
    await repl.follow(a, { ...sourceOf(c, ID.c), ...fromC })
    for (const ctx of [a, b]) {
      await seesItem(ctx, 'first-on-c')
      assert.ok(!(await items(ctx)).includes('lost-with-b'), `${ctx.instanceId} threw away what C never had`)
      await refusesWrites(ctx)
    }
    const rewound = (await readRecord(b))?.rewound
    assert.ok(rewound, 'B recorded what pg_rewind threw away')
    t.diagnostic(`B diverged at ${rewound.divergedAt}`)
    const sc = await repl.status(c)
    assert.deepEqual([sc.role, sc.replicas], ['source', 2])
  })

  it('says connected: false for a replica whose engine is down, and never throws', async () => {
    await postgresql.engine.stop(a)
    const sa = await repl.status(a)
    assert.deepEqual([sa.role, sa.connected], ['replica', false])
  })
})
