/**
 * MariaDB GTID replication at the guest level, against real MariaDB 10.11 servers on this machine:
 * a source; a replica seeded from a mariadb-backup stream of it (the source's half and the
 * replica's half both run here, as in embedded mode); a row written before the replica existed and
 * one after; writes refused on the replica, for its users and its root, also after a restart;
 * status; semi-synchronous commits; a planned switchover (fence, caught up, promote); the old
 * source and a second replica following the new source; and a diverged instance refused. Figures
 * go to diagnostics.
 */
import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import * as mysql from 'mysql2/promise'
import { ByteCounter } from '../src/guest/datastores/common/sealed-objects.js'
import type { InstanceContext } from '../src/guest/datastores/datastore.js'
import { mariadb } from '../src/guest/datastores/mariadb/index.js'
import type { MariadbReplication } from '../src/guest/datastores/mariadb/replication.js'
import { dataDir } from '../src/guest/datastores/mariadb/manager.js'
import { servicePasswords, withService } from '../src/guest/datastores/mariadb/service-account.js'
import type { ReplicationSource } from '../src/guest/datastores/replication.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const engine = mariadb.engine
const repl = mariadb.replication as MariadbReplication
const ALICE = 'alice-Pw-1'
const ROOT = 'root-Pw-1'

type Rows = mysql.RowDataPacket[]

describe('MariaDB replication', async () => {
  const manifest = await mariadb.discover()
  const version = manifest.versions[0]
  let guest: GuestHome | undefined
  let a: InstanceContext // the first source; fenced, then a replica of b
  let b: InstanceContext // a replica of a; then the source
  let c: InstanceContext // a second replica of a; then of b; then diverged
  let fromA: ReplicationSource

  // Clients come from 127.0.0.2 (the source's allowed_cidrs); replicas connect from 127.0.0.1.
  // mysql2 takes a localAddress option but does not use it: the socket is made here.
  const connect = (ctx: InstanceContext, user: string, password: string, from = '127.0.0.2') =>
    mysql.createConnection({
      stream: netConnect({ host: '127.0.0.1', port: ctx.port, localAddress: from }),
      user, password, database: user === 'alice' ? 'shop' : undefined, connectTimeout: 5000,
    })
  const as = async <T>(ctx: InstanceContext, user: string, password: string, fn: (s: mysql.Connection) => Promise<T>, from?: string): Promise<T> => {
    const s = await connect(ctx, user, password, from)
    try {
      return await fn(s)
    } finally {
      await s.end().catch(() => s.destroy())
    }
  }
  const alice = <T>(ctx: InstanceContext, fn: (s: mysql.Connection) => Promise<T>) => as(ctx, 'alice', ALICE, fn)
  const root = <T>(ctx: InstanceContext, fn: (s: mysql.Connection) => Promise<T>) => as(ctx, 'root', ROOT, fn)
  const write = (ctx: InstanceContext, id: number, v: string) => alice(ctx, (s) => s.query('INSERT INTO shop.t VALUES (?, ?)', [id, v]))
  const ids = async (ctx: InstanceContext): Promise<number[]> =>
    alice(ctx, async (s) => (await s.query<Rows>('SELECT id FROM shop.t ORDER BY id'))[0].map((r) => Number(r['id'])))
  const until = async (what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms
    while (!(await fn().catch(() => false))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await sleep(50)
    }
  }
  const has = (ctx: InstanceContext, id: number) => until(`row ${id} on ${ctx.instanceId}`, async () => (await ids(ctx)).includes(id))
  const seed = async (replica: InstanceContext, source: InstanceContext, to: ReplicationSource): Promise<number> => {
    // Counted on the way, without reading it before the seed does.
    const counted = new ByteCounter()
    ;(await repl.snapshot(source)).pipe(counted)
    await repl.seed(replica, to, counted)
    return counted.bytes
  }
  const refusedWrite = { code: 'ER_OPTION_PREVENTS_STATEMENT' }

  before(async () => {
    assert.ok(version, 'MariaDB is installed')
    guest = await makeGuestHome(mariadb, version, { label: 'mariadb-repl', instanceId: '00000000-0000-4000-8000-00000000a001' })
    // Only 127.0.0.2 may reach the first source: its replicas, from 127.0.0.1, replicate all the same.
    a = { ...guest.ctx, allowedCidrs: ['127.0.0.2/32'] }
    b = await guest.newContext('b', '00000000-0000-4000-8000-00000000b002')
    c = await guest.newContext('c', '00000000-0000-4000-8000-00000000c003')
  })

  after(() => guest?.cleanup())

  it('seeds a replica from a mariadb-backup stream of the source: rows from before it existed and after', async (t) => {
    await engine.prepare(a, { databases: [{ name: 'shop' }], users: [{ name: 'alice', password: ALICE, databases: [{ name: 'shop' }] }] })
    await mariadb.root!.enable(a, ROOT)
    await alice(a, async (s) => {
      await s.query('CREATE TABLE t (id int PRIMARY KEY, v varchar(20))')
      await s.query('CREATE TABLE bulk (id int PRIMARY KEY, pad varchar(1000))')
      await s.query('SET SESSION max_recursive_iterations = 100000')
      await s.query("INSERT INTO bulk WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 30000) SELECT n, REPEAT('x', 1000) FROM s")
    })
    await write(a, 1, 'before')

    const account = await repl.prepareSource(a)
    assert.equal(account.user, 'coffer_repl')
    const gtid = await withService(a, async (s) => (await s.query<Rows>('SELECT @@gtid_binlog_pos AS p'))[0][0]?.['p'] as string)
    assert.deepEqual(await repl.prepareSource(a), account, 'the same account again')
    assert.equal(await withService(a, async (s) => (await s.query<Rows>('SELECT @@gtid_binlog_pos AS p'))[0][0]?.['p'] as string), gtid, 'and nothing logged the second time')
    fromA = { instanceId: a.instanceId, host: '127.0.0.1', port: a.port, ...account }

    let started = performance.now()
    const bytes = await seed(b, a, fromA)
    t.diagnostic(`seed of ${(bytes / 1048576).toFixed(1)} MB (snapshot + mbstream + prepare + private run): ${Math.round(performance.now() - started)} ms`)
    assert.equal((await engine.status(b)).state, 'stopped', 'the seed leaves the engine stopped')
    assert.notEqual((await servicePasswords(b))[0], (await servicePasswords(a))[0], 'the replica has a service password of its own')
    for (const path of [dataDir(b), join(dataDir(b), 'shop', 't.ibd')]) assert.equal((await stat(path)).uid, b.account.uid, `${path} is the replica's account's`)
    await until('the snapshot\'s scratch folder to go', async () => !(await readdir(a.guestDir)).some((n) => n.startsWith('mariadb-snapshot-')))
    started = performance.now()
    await engine.start(b)
    assert.equal((await engine.status(b)).healthy, true, "Coffer's service login works on the replica")
    await write(a, 2, 'after')
    await has(b, 2)
    t.diagnostic(`replica start to streaming a new row: ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(await ids(b), [1, 2])
    await assert.rejects(as(a, 'alice', ALICE, (s) => s.query('SELECT 1'), '127.0.0.1'), 'clients from 127.0.0.1 are refused by the source')
    await assert.rejects(as(a, 'coffer_repl', 'wrong', (s) => s.query('SELECT 1'), '127.0.0.1'), { code: 'ER_ACCESS_DENIED_ERROR' })
  })

  it('refuses writes on the replica from its users and from root, also after a restart', async () => {
    await assert.rejects(write(b, 10, 'no'), refusedWrite)
    await root(b, async (s) => {
      await assert.rejects(s.query("INSERT INTO shop.t VALUES (11, 'no')"), refusedWrite)
      await assert.rejects(s.query('CREATE DATABASE nope'), refusedWrite)
      await assert.rejects(s.query('SET GLOBAL read_only = OFF'), { code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' })
      await assert.rejects(s.query('GRANT READ_ONLY ADMIN ON *.* TO root'), { code: 'ER_ACCESS_DENIED_ERROR' })
    })
    await engine.stop(b)
    await engine.start(b)
    await root(b, (s) => assert.rejects(s.query("INSERT INTO shop.t VALUES (12, 'no')"), refusedWrite))
    await write(a, 3, 'after restart')
    await has(b, 3)
  })

  it('reports the replica connected with its lag and position, and the source with its replica', async () => {
    const source = await repl.status(a)
    assert.equal(source.role, 'source')
    assert.equal(source.replicas, 1)
    assert.equal(source.synchronous, 0)
    await until('the replica to report no lag', async () => (await repl.status(b)).lagSeconds === 0)
    const replica = await repl.status(b)
    assert.equal(replica.role, 'replica')
    assert.equal(replica.connected, true)
    assert.equal(replica.lagBytes, 0)
    assert.equal(replica.position, source.position)
    assert.ok(await repl.caughtUp(b, source.position ?? ''))
  })

  it('acknowledges a commit only once the semi-synchronous replica has it', async (t) => {
    await repl.setSynchronous!(a, [b.instanceId])
    await until('the replica to acknowledge semi-synchronously', async () => (await repl.status(a)).synchronous === 1)
    await write(a, 4, 'sync')
    await withService(b, (s) => s.query('STOP SLAVE IO_THREAD'))
    const pending = write(a, 5, 'waits')
    const outcome = await Promise.race([pending.then(() => 'acknowledged'), sleep(2000).then(() => 'waiting')])
    assert.equal(outcome, 'waiting', 'no acknowledgement while the replica does not receive')
    const started = performance.now()
    await withService(b, (s) => s.query('START SLAVE IO_THREAD'))
    await pending
    t.diagnostic(`commit acknowledged ${Math.round(performance.now() - started)} ms after the replica's IO thread restarted`)
    await has(b, 5)
    await repl.setSynchronous!(a, [])
    assert.equal((await repl.status(a)).synchronous, 0)
  })

  it('seeds a second replica', async () => {
    await seed(c, a, fromA)
    await engine.start(c)
    await write(a, 9, 'to c')
    await has(c, 9)
    await until('two replicas on the source', async () => (await repl.status(a)).replicas === 2)
  })

  it('fences the source, sees the replica caught up, promotes it and writes on it', async (t) => {
    const rootSession = await connect(a, 'root', ROOT)
    // A transaction open across the fence cannot commit after it.
    const open = await connect(a, 'alice', ALICE)
    await open.query('BEGIN')
    await open.query("INSERT INTO shop.t VALUES (22, 'open')")
    const { position } = await repl.fence(a)
    await assert.rejects(open.query('COMMIT'), refusedWrite)
    await open.end()
    assert.match(position, /^0-\d+-\d+$/)
    await assert.rejects(write(a, 20, 'fenced'), refusedWrite)
    await assert.rejects(rootSession.query('SELECT 1'), 'the fence ended root sessions')
    rootSession.destroy()
    await root(a, (s) => assert.rejects(s.query("INSERT INTO shop.t VALUES (21, 'no')"), refusedWrite))
    assert.equal((await repl.status(a)).role, 'fenced')
    await until('the replica to catch up', () => repl.caughtUp(b, position), 10_000)
    const started = performance.now()
    await repl.promote(b)
    const promoted = performance.now()
    await write(b, 6, 'new source')
    t.diagnostic(`promote: ${Math.round(promoted - started)} ms; to a committed write on the new source: ${Math.round(performance.now() - started)} ms`)
    assert.equal((await repl.status(b)).role, 'source')
    assert.deepEqual(await ids(b), [1, 2, 3, 4, 5, 6, 9], 'everything committed before the fence, nothing after')
    await repl.promote(b)
    // After a restart too.
    await engine.stop(b)
    await engine.start(b)
    await write(b, 7, 'restarted')
  })

  it('repoints the second replica and rejoins the old source as a replica of the new one', async () => {
    const account = await repl.prepareSource(b)
    assert.deepEqual(account, { user: fromA.user, password: fromA.password }, 'the promoted replica already has the account')
    const fromB = { instanceId: b.instanceId, host: '127.0.0.1', port: b.port, ...account }
    await assert.rejects(repl.follow(c, { ...fromB, password: 'wrong' }), { code: 'ENGINE_AUTH_FAILED' })
    await repl.follow(c, fromB)
    // The old source stopped meanwhile (as after a crash): follow starts it, read-only.
    await engine.stop(a)
    await repl.follow(a, fromB)
    await repl.follow(a, fromB)
    await has(a, 7)
    await has(c, 7)
    await write(b, 8, 'to both')
    await has(a, 8)
    await has(c, 8)
    await assert.rejects(write(a, 30, 'no'), refusedWrite)
    const status = await repl.status(a)
    assert.equal(status.role, 'replica')
    assert.equal(status.connected, true)
    await until('two replicas on the new source', async () => (await repl.status(b)).replicas === 2)
  })

  it('refuses to rejoin an instance with transactions the new source lacks, leaving it read-only', async (t) => {
    await repl.promote(c)
    await write(c, 40, 'only on c')
    const fromB = { instanceId: b.instanceId, host: '127.0.0.1', port: b.port, ...(await repl.prepareSource(b)) }
    await assert.rejects(repl.follow(c, fromB), (err: { code?: string; message?: string }) => {
      t.diagnostic(`refused: ${err.message}`)
      assert.equal(err.code, 'ENGINE_STATE_CONFLICT')
      assert.match(err.message ?? '', /cannot follow its new source without losing its own data/)
      return true
    })
    assert.equal((await repl.status(c)).role, 'fenced')
    await assert.rejects(write(c, 41, 'no'), refusedWrite)
    assert.ok((await ids(c)).includes(40), 'its own row is kept')
    await assert.rejects(repl.seed(c, fromB), { code: 'NOT_IMPLEMENTED' }, 'a seed needs the source\'s snapshot')
    assert.ok(!(await ids(b)).includes(40))
  })
})
