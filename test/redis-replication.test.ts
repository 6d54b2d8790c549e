/**
 * Redis replica sets at the guest level against real Redis 7.0 servers: a source prepared, a
 * replica seeded from it (Redis's own full sync at its first start) that sees a key written before
 * it existed and one after, refuses writes from its users and its root, and reports its link and
 * lag; the source fenced, the replica caught up and promoted; the old source rejoining as a replica
 * of the new one; a second replica repointed; users changed on the source copied to a replica; a
 * diverged instance refused.
 */
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { InstanceContext } from '../src/guest/datastores/datastore.js'
import { redis } from '../src/guest/datastores/redis/index.js'
import { redisPaths } from '../src/guest/datastores/redis/manager.js'
import type { ReplicationAdmin, ReplicationSource } from '../src/guest/datastores/replication.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const ALICE = 'alice-Passw0rd'
const ROOT = 'root-Passw0rd'
/** Bulk data on the source before the first replica, for the seed's figure. */
const BULK_KEYS = 1_000
const BULK_VALUE = 'x'.repeat(16 * 1024)

describe('Redis replication', async () => {
  const manifest = await redis.discover()
  const version = manifest.versions.find((v) => v.name === '7.0')
  const repl = redis.replication as ReplicationAdmin
  let guest: GuestHome | undefined
  let source: InstanceContext
  let replica: InstanceContext
  let second: InstanceContext
  let sourceAccount: ReplicationSource
  let fencePosition: string
  const clients: Redis[] = []

  const connect = async (ctx: InstanceContext, user: string, password: string): Promise<Redis> => {
    const c = new Redis({ host: '127.0.0.1', port: ctx.port, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0, commandTimeout: 5_000 })
    c.on('error', () => undefined)
    clients.push(c)
    await c.connect()
    await c.call('AUTH', user, password)
    return c
  }
  const asSource = async (ctx: InstanceContext): Promise<ReplicationSource> => {
    const { user, password } = await repl.prepareSource(ctx)
    return { instanceId: ctx.instanceId, host: ctx.bindAddress, port: ctx.port, user, password }
  }
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await sleep(20)
    }
  }
  const sees = (ctx: InstanceContext, key: string, value: string) =>
    waitFor(`${key} on ${ctx.instanceId}`, async () => (await (await connect(ctx, 'alice', ALICE)).get(key)) === value)
  const connected = (ctx: InstanceContext) => waitFor(`${ctx.instanceId} connected`, async () => (await repl.status(ctx)).connected === true)
  const writesRefused = async (ctx: InstanceContext, error: RegExp) => {
    for (const [user, password] of [['alice', ALICE], ['root', ROOT]] as const) {
      const c = await connect(ctx, user, password)
      await assert.rejects(c.set('refused', user), error, `${user} cannot write on ${ctx.instanceId}`)
      await assert.rejects(c.call('EVAL', "return redis.call('SET', 'refused', 'lua')", '0'), error, `${user} cannot write through a script`)
    }
  }

  before(async () => {
    assert.ok(version, `Redis 7.0 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(redis, version, { label: 'redis-repl', instanceId: 'redis-repl-source' })
    source = guest.ctx
    replica = await guest.newContext('replica', 'redis-repl-replica')
    second = await guest.newContext('second', 'redis-repl-second')
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    await guest?.cleanup()
  })

  it('prepares a source: a replication user that can replicate and nothing else', async () => {
    await redis.engine.prepare(source, { databases: [], users: [{ name: 'alice', password: ALICE, databases: [] }] })
    await redis.root?.enable(source, ROOT)
    sourceAccount = await asSource(source)
    assert.equal(sourceAccount.user, 'coffer_repl')
    assert.deepEqual(await asSource(source), sourceAccount, 'idempotent: the same account')
    assert.equal((await stat(`${source.guestDir}/redis-replication.json`)).mode & 0o777, 0o600)
    const account = await connect(source, sourceAccount.user, sourceAccount.password)
    await assert.rejects(account.get('k'), /NOPERM/)
    await assert.rejects(account.set('k', 'v'), /NOPERM/)
    await assert.rejects(account.call('CONFIG', 'GET', 'port'), /NOPERM/)
    // Hidden from the users' list and reserved, like the service user.
    assert.deepEqual((await redis.users?.list(source))?.map((u) => u.name), ['alice'])
    await assert.rejects(redis.users?.create(source, [{ name: 'coffer_repl', password: 'x', databases: [] }]) ?? Promise.resolve(), /reserved/)
    const alice = await connect(source, 'alice', ALICE)
    assert.equal(await alice.set('before', 'written before the replica'), 'OK')
    const bulk = alice.pipeline()
    for (let i = 0; i < BULK_KEYS; i++) bulk.set(`bulk:${i}`, BULK_VALUE)
    await bulk.exec()
  })

  it('seeds a replica that syncs at its first start and follows read-only', async (t) => {
    const started = performance.now()
    await repl.seed(replica, sourceAccount)
    const seeded = performance.now()
    assert.equal((await redis.engine.status(replica)).state, 'stopped', 'seed leaves the engine stopped')
    await redis.engine.start(replica)
    assert.equal((await redis.engine.status(replica)).healthy, true, "the replica's own service login works")
    await connected(replica)
    const mb = Math.round((BULK_KEYS * BULK_VALUE.length) / 1e6)
    t.diagnostic(`seed ${Math.round(seeded - started)} ms; seed + start + full sync of ~${mb} MB until connected: ${Math.round(performance.now() - started)} ms`)
    await sees(replica, 'before', 'written before the replica')
    await (await connect(source, 'alice', ALICE)).set('after', 'written after the replica')
    await sees(replica, 'after', 'written after the replica')
    assert.equal(await (await connect(replica, 'alice', ALICE)).dbsize(), BULK_KEYS + 2)
    const conf = await readFile(redisPaths(replica).conf, 'utf8')
    assert.match(conf, /^replicaof "127\.0\.0\.1" \d+$/m)
    assert.match(conf, /^replica-read-only yes$/m)
    assert.match(conf, /^masteruser "coffer_repl"$/m)
    // The source's users came along, its own accounts did not.
    const acl = await readFile(redisPaths(replica).aclFile, 'utf8')
    assert.match(acl, /^user alice on /m)
    assert.match(acl, /^user root on /m)
    assert.doesNotMatch(acl, /^user coffer_repl /m)
  })

  it('refuses writes on the replica to its users and its root, and keeps root from making it writable', async () => {
    await writesRefused(replica, /READONLY/)
    const root = await connect(replica, 'root', ROOT)
    for (const command of [['REPLICAOF', 'NO', 'ONE'], ['SLAVEOF', 'NO', 'ONE'], ['CONFIG', 'SET', 'replica-read-only', 'no'], ['ACL', 'SETUSER', 'root', '+@all']]) {
      await assert.rejects(root.call(command[0] ?? '', ...command.slice(1)), /NOPERM/, command.join(' '))
    }
    assert.equal(await root.get('before'), 'written before the replica', 'root reads')
  })

  it('reports the link, the lag and the positions', async () => {
    await waitFor('no lag', async () => (await repl.status(replica)).lagBytes === 0)
    const r = await repl.status(replica)
    assert.equal(r.role, 'replica')
    assert.equal(r.connected, true)
    assert.equal(r.lagSeconds, 0)
    const s = await repl.status(source)
    assert.deepEqual({ role: s.role, replicas: s.replicas }, { role: 'source', replicas: 1 })
    assert.equal(r.position, s.position)
  })

  it('keeps following across a restart', async () => {
    await redis.engine.stop(replica)
    assert.equal((await repl.status(replica)).connected, false)
    await redis.engine.start(replica)
    await connected(replica)
    await writesRefused(replica, /READONLY/)
  })

  it('seeds a second replica', async () => {
    await repl.seed(second, sourceAccount)
    await redis.engine.start(second)
    await sees(second, 'after', 'written after the replica')
  })

  it('fences the source: every write refused at once, after a restart too; the replica catches up', async (t) => {
    const alice = await connect(source, 'alice', ALICE)
    await alice.set('last', 'the last write on the old source')
    const started = performance.now()
    fencePosition = (await repl.fence(source)).position
    t.diagnostic(`fence: ${Math.round(performance.now() - started)} ms at offset ${fencePosition}`)
    await writesRefused(source, /NOREPLICAS/)
    assert.equal((await repl.status(source)).role, 'fenced')
    assert.equal((await repl.fence(source)).position, fencePosition, 'fencing again keeps the position')
    // Restarted, it stays fenced: the fence is in its records, rendered into redis.conf.
    await redis.engine.stop(source)
    await redis.engine.start(source)
    await writesRefused(source, /NOREPLICAS/)
    await waitFor('caught up', () => repl.caughtUp(replica, fencePosition))
    assert.equal(await repl.caughtUp(replica, String(Number(fencePosition) + 1_000_000)), false)
    await sees(replica, 'last', 'the last write on the old source')
  })

  it('promotes the replica: writable by its users and root again', async (t) => {
    const started = performance.now()
    await repl.promote(replica)
    const alice = await connect(replica, 'alice', ALICE)
    assert.equal(await alice.set('new', 'written on the new source'), 'OK')
    t.diagnostic(`promote until a write is acknowledged: ${Math.round(performance.now() - started)} ms`)
    assert.equal((await repl.status(replica)).role, 'source')
    const root = await connect(replica, 'root', ROOT)
    assert.equal(await root.call('ACL', 'DRYRUN', 'root', 'REPLICAOF', 'NO', 'ONE'), 'OK', "root's commands are back")
    assert.match(await readFile(redisPaths(replica).conf, 'utf8'), /^replicaof /m, 'redis.conf changes only at the next start')
    await repl.promote(replica)
    // The new source makes a user: a follow carries it to the replicas.
    await redis.users?.create(replica, [{ name: 'bob', password: 'bob-Passw0rd', databases: [] }])
  })

  it('rejoins the fenced old source as a replica of the new one', async () => {
    const account = await asSource(replica)
    await repl.follow(source, account)
    await connected(source)
    await sees(source, 'new', 'written on the new source')
    await writesRefused(source, /READONLY/)
    const bob = await connect(source, 'bob', 'bob-Passw0rd')
    assert.equal(await bob.get('new'), 'written on the new source', 'a user made on the new source reads on the old one')
    await repl.follow(source, account)
    assert.equal((await repl.status(source)).role, 'replica', 'follow again: no change')
    // Restarted, it comes back a replica: neither fenced-writable nor a source.
    await redis.engine.stop(source)
    await redis.engine.start(source)
    await connected(source)
    await writesRefused(source, /READONLY/)
  })

  it('repoints the second replica to the new source', async () => {
    await repl.follow(second, await asSource(replica))
    await sees(second, 'new', 'written on the new source')
    await writesRefused(second, /READONLY/)
    await waitFor('two replicas', async () => (await repl.status(replica)).replicas === 2)
  })

  it('copies users changed on the source to a replica when asked, and only from the source it follows', async () => {
    const account = await asSource(replica)
    await redis.users?.create(replica, [{ name: 'dave', password: 'dave-Passw0rd', databases: [] }])
    await redis.users?.delete(replica, { name: 'bob' })
    await repl.copyUsers?.(second, account)
    assert.equal(await (await connect(second, 'dave', 'dave-Passw0rd')).get('new'), 'written on the new source')
    await assert.rejects(connect(second, 'bob', 'bob-Passw0rd'), /WRONGPASS/, 'a user dropped on the source is dropped on the replica')
    await writesRefused(second, /READONLY/)
    await assert.rejects(repl.copyUsers?.(replica, await asSource(second)) ?? Promise.resolve(), { code: 'ENGINE_STATE_CONFLICT' })
  })

  it('refuses to make an instance with writes of its own follow a source that lacks them', async () => {
    await repl.promote(second)
    await (await connect(second, 'alice', ALICE)).set('only-here', 'diverged')
    await assert.rejects(repl.follow(second, await asSource(replica)), { code: 'ENGINE_STATE_CONFLICT' })
    assert.equal(await (await connect(second, 'alice', ALICE)).get('only-here'), 'diverged', 'nothing was dropped')
    await assert.rejects(repl.follow(second, { ...(await asSource(replica)), password: 'wrong' }), { code: 'ENGINE_AUTH_FAILED' })
  })
})
