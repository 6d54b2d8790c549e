/**
 * Redis backups (strategy `rdb`) against a real Redis 7.0 and an fs object store: keys of every
 * type (and a TTL) and ACL users survive a backup and a restore into new instances exactly; the
 * restored instance takes its own service login; a tampered object is refused with nothing left; an
 * aborted backup leaves no object and the engine serving; no stored byte is plaintext.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { CofferError } from '../src/core/errors.js'
import type { BackupOutcome, BackupLocation, StoredBackup } from '../src/guest/datastores/backup.js'
import { openSealed } from '../src/guest/datastores/common/sealed-objects.js'
import type { InstanceContext } from '../src/guest/datastores/datastore.js'
import { openClient, servicePassword, withService } from '../src/guest/datastores/redis/client.js'
import { redis } from '../src/guest/datastores/redis/index.js'
import { redisPaths } from '../src/guest/datastores/redis/manager.js'
import { SERVICE_USER } from '../src/guest/datastores/redis/manifest.js'
import { listAll } from '../src/storage/object-store.js'
import { FsObjectStore } from '../src/storage/fs/fs-object-store.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const MARKER = `plain-marker-${randomBytes(6).toString('hex')}`
const ALICE = { name: 'alice', password: `alice's "pass" ${randomBytes(4).toString('hex')}` }
const BOB = { name: 'bob', password: `bob-${randomBytes(6).toString('hex')}` }

/** Every key of every database, as `db/key` → type, value and whether it has a TTL. */
type Dump = Map<string, { type: string; value: unknown; ttl: boolean }>

async function dump(ctx: InstanceContext): Promise<Dump> {
  return withService(ctx, async (c) => {
    const out: Dump = new Map()
    for (let db = 0; db < 16; db++) {
      await c.call('SELECT', String(db))
      let cursor = '0'
      do {
        // As bytes: keys need not be UTF-8.
        const [next, keys] = (await c.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]]
        cursor = next.toString()
        for (const key of keys) {
          const type = (await c.type(key)) as string
          const value =
            type === 'string' ? await c.getBuffer(key)
            : type === 'hash' ? await c.hgetall(key)
            : type === 'list' ? await c.lrange(key, 0, -1)
            : type === 'set' ? (await c.smembers(key)).sort()
            : type === 'zset' ? await c.zrange(key, 0, -1, 'WITHSCORES')
            : type === 'stream' ? await c.xrange(key, '-', '+')
            : assert.fail(`unexpected type ${type}`)
          out.set(`${db}/${key.toString('hex')}`, { type, value, ttl: (await c.pttl(key)) > 0 })
        }
      } while (cursor !== '0')
    }
    return out
  })
}

/** A TCP client logged in as `user`, like an application's. */
async function login(ctx: InstanceContext, user: string, password: string): Promise<Redis> {
  const c = new Redis({ host: '127.0.0.1', port: ctx.port, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  c.on('error', () => undefined)
  await c.connect()
  try {
    await c.call('AUTH', user, password)
  } catch (err) {
    c.disconnect()
    throw err
  }
  return c
}

/** Every file below `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  return entries.filter((e) => e.isFile()).map((e) => join(e.path, e.name))
}

/** zstd children of this test process still alive (a killed backup must not leave one). */
async function zstdChildren(): Promise<number[]> {
  const found: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const fields = (await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')).match(/^\d+ \((.*)\) (\S) (\d+)/)
    if (fields?.[1] === 'zstd' && fields[2] !== 'Z' && Number(fields[3]) === process.pid) found.push(Number(name))
  }
  return found
}

describe('Redis backups', async () => {
  const manifest = await redis.discover()
  const version = manifest.versions.find((v) => v.name === '7.0')
  const admin = redis.backup
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  let location: BackupLocation
  let storeRoot: string
  const clients: Redis[] = []
  const points: { stored: StoredBackup; data: Dump; users: string[] }[] = []

  const backupNow = async (backupId: string, on: InstanceContext = ctx): Promise<StoredBackup & { outcome: BackupOutcome }> => {
    assert.ok(admin)
    const dataKey = randomBytes(32)
    const prefix = `backups/${backupId}/`
    const outcome = await admin.backup(on, { backupId, location, prefix, dataKey })
    return { backupId, prefix, objects: outcome.objects, dataKey, position: outcome.position, takenAt: outcome.takenAt, outcome }
  }
  const restoreInto = async (name: string, stored: StoredBackup): Promise<InstanceContext> => {
    assert.ok(guest && admin)
    const target = await guest.newContext(name, `redis-backup-${name}`)
    await admin.restore(target, { location, chain: [stored] })
    return target
  }

  before(async () => {
    assert.ok(version, `Redis 7.0 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(redis, version, { label: 'redis-backup', instanceId: 'redis-backup-src' })
    ctx = guest.ctx
    storeRoot = join(guest.home, 'objects')
    location = { store: new FsObjectStore(storeRoot), settings: { kind: 'fs', root: storeRoot } }
    await redis.engine.prepare(ctx, { databases: [], users: [{ ...ALICE, databases: [] }] })
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    await guest?.cleanup()
  })

  it('offers full RDB backups, without incrementals or point in time', () => {
    assert.equal(admin?.strategy, 'rdb')
    assert.equal(admin?.supportsIncremental, false)
    assert.equal(admin?.supportsPointInTime, false)
    assert.equal(admin?.archiving, undefined)
    assert.equal(manifest.capabilities.backup, true)
    assert.equal(manifest.capabilities.incremental_backup, false)
    assert.equal(manifest.capabilities.point_in_time_restore, false)
  })

  it('backs up keys of every type and the users, then more after further writes', async (t) => {
    const alice = await login(ctx, ALICE.name, ALICE.password)
    clients.push(alice)
    await alice.set('greeting', `hello ${MARKER}`)
    await alice.set(Buffer.from([0xff, 0x00, 0x01]), Buffer.from([0x00, 0xfe, 0x80]))
    await alice.hset('user:1', { name: `Ada ${MARKER}`, visits: '42' })
    await alice.rpush('queue', 'a', 'b', MARKER, 'b')
    await alice.sadd('tags', 'x', 'y', MARKER)
    await alice.zadd('board', 1.5, 'p1', -3, 'p2')
    await alice.xadd('events', '1-1', 'kind', 'login')
    await alice.set('session', MARKER, 'EX', 3600)
    await alice.select(5)
    await alice.set('in-db-5', MARKER)
    await alice.select(0)

    const data1 = await dump(ctx)
    const first = await backupNow('b-first')
    assert.deepEqual(first.objects.map((o) => o.key).sort(), ['backups/b-first/dump.rdb.zst.gcm', 'backups/b-first/users.acl.zst.gcm'])
    assert.ok(first.objects.every((o) => o.size > 0 && /^[0-9a-f]{64}$/.test(o.sha256)))
    assert.match(first.position.lastSave ?? '', /^\d+$/)
    assert.match(first.position.redisVersion ?? '', /^7\.0\.\d+$/)
    assert.equal(first.position.rdbVersion, '10')
    assert.equal(first.takenAt.getTime(), Number(first.position.lastSave) * 1000)
    assert.ok(Math.abs(first.takenAt.getTime() - Date.now()) < 5_000, 'takenAt is the save just made')
    assert.ok(first.outcome.dataBytes > 100, `dataBytes ${first.outcome.dataBytes}`)
    // The snapshot is in the store; no second copy of the data stays on the volume.
    assert.deepEqual((await readdir(redisPaths(ctx).dataDir)).filter((f) => f.endsWith('.rdb')), [])
    points.push({ stored: first, data: data1, users: ['alice'] })
    // The users object holds the client users only: a restore puts its own `default` and service lines.
    const aclText = (await new Response(Readable.toWeb(await openSealed(location.store, 'backups/b-first/users.acl.zst.gcm', first.dataKey, 'b-first')) as ReadableStream).text())
    assert.match(aclText, /^user alice on (\S+ )*#[0-9a-f]{64} /m)
    assert.doesNotMatch(aclText, new RegExp(`^user (default|${SERVICE_USER}) `, 'm'))

    await alice.set('greeting', 'changed')
    await alice.del('tags')
    await alice.rpush('queue', 'c')
    await alice.set('later', `later ${MARKER}`)
    await redis.users?.create(ctx, [{ ...BOB, databases: [] }])
    const data2 = await dump(ctx)
    const second = await backupNow('b-second')
    assert.ok(Number(second.position.lastSave) >= Number(first.position.lastSave))
    points.push({ stored: second, data: data2, users: ['alice', 'bob'] })
    assert.notDeepEqual(data1, data2)
    t.diagnostic(`keys: ${data1.size} then ${data2.size}; RDB ${first.outcome.dataBytes} then ${second.outcome.dataBytes} bytes`)
  })

  it('restores each backup into a new instance exactly, with its users and this instance\'s service login', async (t) => {
    assert.ok(admin)
    const sourcePassword = await servicePassword(ctx)
    for (const [i, point] of points.entries()) {
      const started = performance.now()
      const target = await restoreInto(`restored-${i}`, point.stored)
      const restoreMs = performance.now() - started
      // Left stopped, every file the engine's account's.
      assert.equal((await redis.engine.status(target)).state, 'stopped')
      const paths = redisPaths(target)
      for (const f of [paths.aclFile, ...(await filesUnder(paths.dataDir))]) {
        assert.equal((await stat(f)).uid, target.account.uid, `${f} is the engine account's`)
      }
      await redis.engine.start(target)
      assert.deepEqual(await redis.engine.status(target).then((s) => [s.state, s.healthy]), ['running', true])
      assert.deepEqual(await dump(target), point.data)
      assert.ok((await dump(target)).get(`0/${Buffer.from('session').toString('hex')}`)?.ttl, 'the TTL key keeps its TTL')
      assert.deepEqual((await redis.users?.list(target))?.map((u) => u.name), point.users)
      const alice = await login(target, ALICE.name, ALICE.password)
      clients.push(alice)
      assert.equal((await alice.get('greeting'))?.startsWith(i === 0 ? 'hello' : 'changed'), true)
      if (point.users.includes('bob')) clients.push(await login(target, BOB.name, BOB.password))
      else await assert.rejects(login(target, BOB.name, BOB.password), /WRONGPASS/)
      // The source's service password does not open the restored instance; its own does.
      await assert.rejects(openClient(target, SERVICE_USER, sourcePassword), /WRONGPASS/)
      await assert.rejects(login(target, 'default', ''), /WRONGPASS|NOAUTH|disabled/i)
      const counted = await admin.check(target)
      assert.deepEqual(counted, { databases: 2, tables: point.data.size })
      // A restart loads its own AOF now (the restored base and what came after).
      await alice.set('after-restore', '1')
      await redis.engine.stop(target)
      await redis.engine.start(target)
      assert.equal((await dump(target)).size, point.data.size + 1)
      await redis.engine.stop(target)
      t.diagnostic(`restore ${point.stored.backupId}: ${restoreMs.toFixed(0)} ms`)
    }
  })

  it('refuses a parent, a chain, a restore time and a running instance', async () => {
    assert.ok(admin && guest)
    const [point] = points
    assert.ok(point)
    await assert.rejects(
      admin.backup(ctx, { backupId: 'b-child', location, prefix: 'backups/b-child/', dataKey: randomBytes(32), parent: point.stored }),
      (err: CofferError) => err.code === 'BAD_REQUEST',
    )
    const target = await guest.newContext('refused', 'redis-backup-refused')
    await assert.rejects(admin.restore(target, { location, chain: [point.stored], restoreTime: new Date() }), (err: CofferError) => err.code === 'BAD_REQUEST')
    await assert.rejects(admin.restore(target, { location, chain: [point.stored, point.stored] }), (err: CofferError) => err.code === 'BAD_REQUEST')
    assert.deepEqual(await readdir(target.volumeDir), [])
    // Never over a running instance's data.
    await assert.rejects(admin.restore(ctx, { location, chain: [point.stored] }), (err: CofferError) => err.code === 'ENGINE_STATE_CONFLICT')
    assert.equal((await redis.engine.status(ctx)).healthy, true)
  })

  it('stores no plaintext', async () => {
    const files = await filesUnder(storeRoot)
    assert.equal(files.length, 4)
    for (const f of files) {
      const bytes = await readFile(f)
      for (const needle of [MARKER, ALICE.password, BOB.password, 'alice', 'greeting', 'REDIS00']) {
        assert.equal(bytes.includes(needle), false, `${f} holds ${needle} in the clear`)
      }
    }
  })

  it('refuses a tampered backup with OBJECT_CORRUPT naming it, leaving the volume empty', async () => {
    assert.ok(admin && guest)
    for (const object of ['dump.rdb.zst.gcm', 'users.acl.zst.gcm']) {
      const copy = await backupNow(`b-tamper-${object.split('.')[0]}`)
      const path = join(storeRoot, copy.prefix, object)
      const bytes = await readFile(path)
      const at = Math.floor(bytes.length / 2)
      bytes[at] = (bytes[at] ?? 0) ^ 0x01
      await writeFile(path, bytes)
      const target = await guest.newContext(`tampered-${object.split('.')[0]}`, 'redis-backup-tampered')
      await assert.rejects(admin.restore(target, { location, chain: [copy] }), (err: CofferError) => {
        assert.equal(err.code, 'OBJECT_CORRUPT')
        assert.match(err.message, new RegExp(copy.backupId))
        return true
      })
      assert.deepEqual(await readdir(target.volumeDir), [], `nothing left after a tampered ${object}`)
    }
  })

  it('waits out an AOF rewrite, and an aborted backup leaves no object and the engine serving', async (t) => {
    // ~100 MB of random values: big enough for an abort to land while the data streams.
    await withService(ctx, async (c) => {
      for (let batch = 0; batch < 10; batch++) {
        const p = c.pipeline()
        for (let i = 0; i < 10; i++) p.set(`big:${batch}:${i}`, randomBytes(1024 * 1024))
        await p.exec()
      }
      // Redis may have begun one by itself (the AOF grew past auto-aof-rewrite-min-size).
      await c.call('BGREWRITEAOF').catch((err: Error) => assert.match(err.message, /already in progress/))
    })
    const rewriting = await withService(ctx, async (c) => (await c.info('persistence')).includes('aof_rewrite_in_progress:1'))
    let started = performance.now()
    await backupNow('b-after-rewrite')
    t.diagnostic(`backup while an AOF rewrite ${rewriting ? 'ran' : 'had just ended'}: ${(performance.now() - started).toFixed(0)} ms`)
    started = performance.now()
    const whole = await backupNow('b-big')
    const seconds = (performance.now() - started) / 1000
    const mib = whole.outcome.dataBytes / 1048576
    assert.ok(mib > 100)
    t.diagnostic(`backup of ${mib.toFixed(0)} MiB of random values: ${seconds.toFixed(2)} s, ${(mib / seconds).toFixed(0)} MiB/s`)
    started = performance.now()
    const big = await restoreInto('restored-big', whole)
    await redis.engine.start(big)
    t.diagnostic(`restore of it to a started engine: ${((performance.now() - started) / 1000).toFixed(2)} s`)
    assert.deepEqual(await redis.backup!.check(big), { databases: 2, tables: (await dump(ctx)).size })
    await redis.engine.stop(big)

    const controller = new AbortController()
    let streamed = 0
    started = performance.now()
    await assert.rejects(
      redis.backup!.backup({ ...ctx, signal: controller.signal }, {
        backupId: 'b-aborted',
        location,
        prefix: 'backups/b-aborted/',
        dataKey: randomBytes(32),
        onProgress: (bytes) => {
          streamed = bytes
          if (bytes >= 8 * 1024 * 1024) controller.abort()
        },
      }),
    )
    t.diagnostic(`aborted after ${(streamed / 1048576).toFixed(0)} MiB in ${(performance.now() - started).toFixed(0)} ms`)
    assert.ok(streamed >= 8 * 1024 * 1024 && streamed < 100 * 1024 * 1024, `aborted while streaming (${streamed} bytes)`)
    const left: string[] = []
    for await (const o of listAll(location.store, 'backups/b-aborted/')) left.push(o.key)
    assert.deepEqual(left, [])
    assert.deepEqual(await filesUnder(join(storeRoot, 'backups', 'b-aborted')), [], 'no partial file either')
    assert.deepEqual(await zstdChildren(), [])
    assert.deepEqual(await redis.engine.status(ctx).then((s) => [s.state, s.healthy]), ['running', true])
    const alice = await login(ctx, ALICE.name, ALICE.password)
    clients.push(alice)
    assert.equal(await alice.get('later'), `later ${MARKER}`)
    assert.deepEqual((await readdir(redisPaths(ctx).dataDir)).filter((f) => f.endsWith('.rdb')), [])
  })
})
