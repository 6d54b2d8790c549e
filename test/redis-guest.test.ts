/**
 * The Redis guest against a real Redis 7.0: prepare (twice, and resumed), a user's real connection
 * over TCP, hardening (no unauthenticated access, dangerous commands refused), root, users, stop
 * and start. Runs the engine as the `redis` account when the test runs as root.
 */
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { pssKb } from '../src/guest/datastores/common/memory.js'
import { isAlive, signal, waitForExit } from '../src/guest/datastores/common/process.js'
import type { InstanceContext, PrepareSpec } from '../src/guest/datastores/datastore.js'
import { ensureServicePassword, withService } from '../src/guest/datastores/redis/client.js'
import { redis } from '../src/guest/datastores/redis/index.js'
import { redisPaths } from '../src/guest/datastores/redis/manager.js'
import { foreignListener, portInUseFailure } from './helpers/foreign-listener.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

// Spaces and non-ASCII on purpose: the password travels as one argument and is stored hashed.
const ALICE_PASSWORD = 'it\'s a Sup3r "secret" ü'
const spec: PrepareSpec = { databases: [], users: [{ name: 'alice', password: ALICE_PASSWORD, databases: [] }] }
const DANGEROUS: readonly (readonly string[])[] = [
  ['CONFIG', 'GET', 'maxmemory'], ['DEBUG', 'SLEEP', '0'], ['SHUTDOWN', 'NOSAVE'], ['MODULE', 'LIST'], ['SLAVEOF', 'NO', 'ONE'],
  ['REPLICAOF', 'NO', 'ONE'], ['FLUSHALL'], ['FLUSHDB'], ['ACL', 'LIST'], ['ACL', 'SETUSER', 'alice', 'on', '+@all'], ['KEYS', '*'],
  ['MONITOR'], ['CLIENT', 'KILL', 'TYPE', 'normal'], ['BGREWRITEAOF'], ['SAVE'],
]

describe('Redis guest', async () => {
  const manifest = await redis.discover()
  const version = manifest.versions.find((v) => v.name === '7.0')
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  const clients: Redis[] = []

  const makeContext = (name: string): Promise<InstanceContext> => {
    assert.ok(guest)
    return guest.newContext(name, `redis-test-${name}`)
  }
  /** A TCP client, like an application's; logged in as `user` when given. */
  const connect = async (user?: string, password?: string): Promise<Redis> => {
    const c = new Redis({ host: '127.0.0.1', port: ctx.port, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    c.on('error', () => undefined)
    clients.push(c)
    await c.connect()
    if (user !== undefined && password !== undefined) await c.call('AUTH', user, password)
    return c
  }
  const users = async () => (await redis.users?.list(ctx)) ?? []
  const loginFails = (user: string, password: string) => assert.rejects(connect(user, password), /WRONGPASS/)

  before(async () => {
    assert.ok(version, `Redis 7.0 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(redis, version, { label: 'redis', instanceId: 'redis-test-main' })
    ctx = guest.ctx
  })

  after(async () => {
    for (const c of clients) c.disconnect()
    // Whatever failed above, leave no engine behind.
    await guest?.cleanup()
  })

  it('offers version 7.0 with users, root and configuration, without databases', () => {
    assert.match(version?.versionNumber ?? '', /^7\.0\.\d+$/)
    assert.deepEqual(
      Object.entries(manifest.capabilities).filter(([, on]) => on).map(([c]) => c),
      ['provisioning', 'users', 'root', 'configuration', 'backup', 'replication'],
    )
    assert.equal(manifest.defaultPort, 6379)
    assert.deepEqual(manifest.names.reservedUsers, ['default', 'coffer_admin', 'coffer_repl', 'root'])
  })

  it('prepares an instance that a user can reach over TCP with a password', async (t) => {
    const started = performance.now()
    await redis.engine.prepare(ctx, spec)
    t.diagnostic(`prepare (start + secure + 1 user): ${Math.round(performance.now() - started)} ms`)
    const alice = await connect('alice', ALICE_PASSWORD)
    assert.equal(await alice.set('greeting', 'hello'), 'OK')
    assert.equal(await alice.get('greeting'), 'hello')
    assert.equal(await alice.call('ACL', 'WHOAMI'), 'alice')
  })

  it('refuses wrong passwords, unauthenticated clients and the default user', async () => {
    await loginFails('alice', 'wrong')
    await loginFails('alice', ALICE_PASSWORD.toUpperCase())
    const anonymous = await connect()
    await assert.rejects(anonymous.get('greeting'), /NOAUTH/)
    await assert.rejects(anonymous.call('CONFIG', 'GET', 'requirepass'), /NOAUTH/)
    // One-argument AUTH logs in as `default`, which is off whatever the password.
    await assert.rejects(anonymous.call('AUTH', ''), /WRONGPASS|ERR/)
    await loginFails('default', '')
    await loginFails('coffer_admin', 'guess')
    const acl = await readFile(redisPaths(ctx).aclFile, 'utf8')
    assert.match(acl, /^user default off\b/m)
    assert.doesNotMatch(acl, /nopass|Sup3r/)
    const conf = await readFile(redisPaths(ctx).conf, 'utf8')
    assert.match(conf, /^protected-mode yes$/m)
    assert.match(conf, /^unixsocketperm 700$/m)
  })

  it('refuses every dangerous command to a user', async () => {
    const alice = await connect('alice', ALICE_PASSWORD)
    for (const [name, ...args] of DANGEROUS) {
      // DEBUG is switched off for everyone (enable-debug-command no), which Redis checks before the ACL.
      const expected = name === 'DEBUG' ? /NOPERM|DEBUG command not allowed/ : /NOPERM/
      await assert.rejects(alice.call(name ?? '', ...args), expected, `${name} ${args.join(' ')}`)
      // The ACL itself refuses each one, whatever Redis checks first.
      const verdict = await withService(ctx, (c) => c.call('ACL', 'DRYRUN', 'alice', name ?? '', ...args))
      assert.match(String(verdict), /no permissions/, `dry run of ${name}`)
    }
    assert.equal(await alice.get('greeting'), 'hello', 'nothing was flushed')
    assert.match(String(await alice.call('INFO', 'server')), /redis_version:7\.0/)
  })

  it('keeps the service password private', async () => {
    const secret = join(ctx.guestDir, 'redis-service.json')
    assert.equal((await stat(secret)).mode & 0o777, 0o600)
    assert.equal((await stat(ctx.guestDir)).mode & 0o777, 0o700)
    const { password } = JSON.parse(await readFile(secret, 'utf8')) as { password: string }
    assert.ok(password.length >= 32)
    assert.doesNotMatch(await readFile(redisPaths(ctx).aclFile, 'utf8'), new RegExp(password))
  })

  it('enables root, which may configure the server, and disables it', async () => {
    assert.deepEqual(await redis.root?.enable(ctx, 'root pass 1'), { name: 'root' })
    assert.deepEqual(await redis.root?.enable(ctx, 'root pass 2'), { name: 'root' }) // replaces the password
    await loginFails('root', 'root pass 1')
    const root = await connect('root', 'root pass 2')
    assert.deepEqual(await root.call('CONFIG', 'GET', 'maxmemory-policy'), ['maxmemory-policy', 'volatile-lru'])
    assert.deepEqual(await root.call('CONFIG', 'GET', 'maxmemory'), ['maxmemory', String(307 * 1024 * 1024)])
    const settings = (await root.call('CONFIG', 'GET', '*')) as string[]
    const setting = (name: string) => settings[settings.indexOf(name) + 1]
    assert.deepEqual(['protected-mode', 'appendonly', 'save', 'maxclients', 'enable-debug-command'].map(setting), ['yes', 'yes', '', '2048', 'no'])
    assert.deepEqual(await redis.users?.list(ctx), [{ name: 'alice', databases: [] }], 'root is not a client user')
    await redis.root?.disable(ctx)
    await redis.root?.disable(ctx) // idempotent
    await loginFails('root', 'root pass 2')
    await assert.rejects(root.ping(), 'its open connection was closed')
  })

  it('changes a password, renames and deletes users, and says no to what Redis lacks', async () => {
    const users = redis.users
    assert.ok(users)
    await users.create(ctx, [{ name: 'bob', password: 'bob-1', databases: [] }, { name: 'carol', password: 'carol-1', databases: [] }])
    await users.update(ctx, { name: 'bob' }, { password: 'bob 2' })
    await loginFails('bob', 'bob-1')
    await connect('bob', 'bob 2')
    await users.update(ctx, { name: 'bob' }, { name: 'bobby' })
    await loginFails('bob', 'bob 2')
    const bobby = await connect('bobby', 'bob 2')
    await assert.rejects(bobby.call('FLUSHALL'), /NOPERM/, 'the new name has the same rules')
    await users.update(ctx, { name: 'bobby' }, { name: 'robert', password: 'robert-1' })
    await connect('robert', 'robert-1')
    await users.delete(ctx, { name: 'carol' })
    await users.delete(ctx, { name: 'carol' }) // already gone
    await loginFails('carol', 'carol-1')
    assert.deepEqual((await users.list(ctx)).map((u) => u.name), ['alice', 'robert'])

    await assert.rejects(users.update(ctx, { name: 'robert' }, { name: 'alice' }), { name: 'Conflict' })
    await assert.rejects(users.update(ctx, { name: 'nobody' }, { password: 'x' }), { name: 'NotFound' })
    await assert.rejects(users.update(ctx, { name: 'robert' }, { host: '%' }), { name: 'BadRequest' })
    await assert.rejects(users.create(ctx, [{ name: 'dave', password: 'p', databases: [{ name: 'db0' }] }]), { name: 'BadRequest' })
    await assert.rejects(users.create(ctx, [{ name: 'Default', password: 'p', databases: [] }]), /reserved/)
    await assert.rejects(users.create(ctx, [{ name: 'dave', password: '', databases: [] }]), { name: 'BadRequest' })
    await assert.rejects(users.delete(ctx, { name: 'coffer_admin' }), /reserved/)
    await assert.rejects(users.grant(ctx, { name: 'robert' }, ['db0']), { name: 'NotImplemented' })
    await assert.rejects(users.revoke(ctx, { name: 'robert' }, 'db0'), { name: 'NotImplemented' })
    await assert.rejects(redis.engine.prepare(ctx, { databases: [{ name: 'db0' }], users: [] }), { name: 'BadRequest' })
  })

  it('prepares again without error or duplicates', async () => {
    await redis.engine.prepare(ctx, spec)
    assert.deepEqual((await users()).map((u) => u.name), ['alice', 'robert'])
    assert.equal(await (await connect('alice', ALICE_PASSWORD)).get('greeting'), 'hello')
    const acl = await readFile(redisPaths(ctx).aclFile, 'utf8')
    assert.equal(acl.match(/^user alice /gm)?.length, 1)
  })

  it('stops, reports stopped, starts again and keeps users and data', async (t) => {
    const before = await redis.engine.status(ctx)
    assert.equal(before.healthy, true, JSON.stringify(before))
    assert.equal(before.state, 'running')
    let started = performance.now()
    await redis.engine.stop(ctx)
    t.diagnostic(`stop: ${Math.round(performance.now() - started)} ms`)
    assert.equal(before.pid !== undefined && (await isAlive(before.pid)), false)
    assert.deepEqual(await redis.engine.status(ctx), { state: 'stopped', healthy: false })
    await redis.engine.stop(ctx) // no-op
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(ctx.port, '127.0.0.1', resolve))
    try {
      await assert.rejects(redis.engine.start(ctx), portInUseFailure(ctx.port, /Could not create server TCP listening socket .*Address already in use/))
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
    // Someone edits the ACL file while the engine is down: the next start restores Coffer's lines.
    const acl = redisPaths(ctx).aclFile
    await writeFile(acl, (await readFile(acl, 'utf8')).replace(/^user default .*$/m, 'user default on nopass ~* &* +@all'))
    started = performance.now()
    await redis.engine.start(ctx)
    t.diagnostic(`start: ${Math.round(performance.now() - started)} ms`)
    await redis.engine.start(ctx) // no-op
    const s = await redis.engine.status(ctx)
    assert.equal(s.state, 'running')
    assert.equal(s.healthy, true)
    await assert.rejects((await connect()).get('greeting'), /NOAUTH/)
    assert.equal(await (await connect('alice', ALICE_PASSWORD)).get('greeting'), 'hello', 'the AOF kept the data')
    await connect('robert', 'robert-1')
    assert.deepEqual((await users()).map((u) => u.name), ['alice', 'robert'])
  })

  it('is not healthy when what answers on its port is another process', async () => {
    // The server answers its own login on its private socket, but the port leads elsewhere.
    const foreign = await foreignListener()
    try {
      const s = await redis.engine.status({ ...ctx, port: foreign.port })
      assert.equal(s.healthy, false, JSON.stringify(s))
      assert.match(s.detail ?? '', new RegExp(`port ${foreign.port} is not held by this instance's engine`))
    } finally {
      await foreign.close()
    }
    assert.equal((await redis.engine.status(ctx)).healthy, true)
  })

  it('starts again after the engine was killed, leaving a stale pid file and socket', async () => {
    const { pid } = await redis.engine.status(ctx)
    assert.ok(pid)
    signal(pid, 'SIGKILL')
    assert.ok(await waitForExit(pid, 5000))
    assert.deepEqual(await redis.engine.status(ctx), { state: 'stopped', healthy: false, detail: 'not running; it did not shut down cleanly' })
    await redis.engine.start(ctx)
    assert.equal((await redis.engine.status(ctx)).healthy, true)
    // Redis writes the AOF before it answers; SIGKILL loses nothing written (only a power loss could cost the last second).
    assert.equal(await (await connect('alice', ALICE_PASSWORD)).get('greeting'), 'hello')
  })

  it('reports the tuned configuration', () => {
    const conf = redis.engine.effectiveConfiguration(ctx)
    assert.equal(conf.maxmemory, '307mb')
    assert.equal(conf['maxmemory-policy'], 'volatile-lru')
    assert.equal(conf.maxclients, '2048')
    assert.equal(conf.port, ctx.port)
  })

  it('finishes a prepare cut short after saving the service password', async () => {
    const other = await makeContext('resumed')
    const password = await ensureServicePassword(other) // the crash came right after this
    await redis.engine.prepare(other, spec)
    await redis.engine.prepare(other, spec)
    assert.equal(await ensureServicePassword(other), password, 'the saved password was kept')
    assert.equal((await redis.engine.status(other)).healthy, true)
    await redis.engine.stop(other)
  })

  it('measures prepare and idle memory', async (t) => {
    const times: number[] = []
    const instances: InstanceContext[] = []
    for (let i = 0; i < 5; i++) {
      const c = await makeContext(`m${i}`)
      const started = performance.now()
      await redis.engine.prepare(c, spec)
      times.push(performance.now() - started)
      instances.push(c)
    }
    const median = [...times].sort((a, b) => a - b)[2] ?? 0
    t.diagnostic(`prepare of a new instance (start + secure + 1 user), median of 5: ${median.toFixed(1)} ms (${times.map((x) => x.toFixed(1)).join(', ')})`)
    const pid = (await redis.engine.status(instances[0] as InstanceContext)).pid
    assert.ok(pid)
    t.diagnostic(`idle PSS of one instance: ${((await pssKb(pid)) ?? 0) / 1024} MB (with ${instances.length + 1} running)`)
    for (const c of instances) await redis.engine.stop(c)
  })

  it('stops for good', async () => {
    await redis.engine.stop(ctx)
    assert.equal((await redis.engine.status(ctx)).state, 'stopped')
  })

})
