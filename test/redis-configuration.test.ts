/**
 * Redis configuration groups against a real Redis 7.0: the curated catalog checked against the
 * engine's own values, live values, overrides kept across a restart, a refused value changing
 * nothing, and detaching (apply {}) bringing every value back. Runs as `redis` when root.
 */
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type ParameterSpec, validateValues } from '../src/core/configuration.js'
import type { ConfigurationAdmin, InstanceContext } from '../src/guest/datastores/datastore.js'
import { withService } from '../src/guest/datastores/redis/client.js'
import { redis } from '../src/guest/datastores/redis/index.js'
import { redisPaths } from '../src/guest/datastores/redis/manager.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

describe('Redis configuration groups', async () => {
  const manifest = await redis.discover()
  const version = manifest.versions.find((v) => v.name === '7.0')
  const config = redis.configuration as ConfigurationAdmin
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  let catalog: ParameterSpec[] = []
  /** Every catalog parameter as the fresh instance had it. */
  let fresh: Record<string, string> = {}
  const configGet = (names: readonly string[]): Promise<Record<string, string>> =>
    withService(ctx, async (c) => {
      const flat = (await c.call('CONFIG', 'GET', ...names)) as string[]
      const out: Record<string, string> = {}
      for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
      return out
    })
  const everything = () => configGet(catalog.map((p) => p.name))
  const restart = async () => {
    await redis.engine.stop(ctx)
    await redis.engine.start(ctx)
  }

  before(async () => {
    assert.ok(version, `Redis 7.0 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(redis, version, { label: 'redisconf', instanceId: 'redis-conf-test' })
    ctx = guest.ctx
    await redis.engine.prepare(ctx, { databases: [], users: [] })
  })

  // Whatever failed above, leave no engine behind.
  after(() => guest?.cleanup())

  it('offers a sorted, curated catalog whose defaults are what Redis runs with', async (t) => {
    let started = performance.now()
    catalog = await config.catalog({ cacheDir: ctx.cacheDir, account: ctx.account, version: ctx.version })
    t.diagnostic(`catalog: ${(performance.now() - started).toFixed(2)} ms, ${catalog.length} parameters`)
    started = performance.now()
    assert.deepEqual(await config.catalog({ cacheDir: ctx.cacheDir, account: ctx.account, version: ctx.version }), catalog)
    const names = catalog.map((p) => p.name)
    assert.deepEqual(names, [...names].sort())
    const policy = catalog.find((p) => p.name === 'maxmemory-policy')
    assert.deepEqual(policy?.allowed ? [...policy.allowed].sort() : [], [
      'allkeys-lfu', 'allkeys-lru', 'allkeys-random', 'noeviction', 'volatile-lfu', 'volatile-lru', 'volatile-random', 'volatile-ttl',
    ])
    for (const bad of ['maxmemory', 'maxclients', 'bind', 'port', 'dir', 'appendonly', 'save', 'requirepass', 'aclfile', 'enable-debug-command']) {
      assert.ok(!names.includes(bad), bad)
    }
    fresh = await everything()
    assert.deepEqual(Object.keys(fresh).sort(), names, 'Redis knows every parameter of the catalog')
    assert.equal(fresh['maxmemory-policy'], 'volatile-lru', 'the flavor-derived policy')
  })

  it('applies values live', async (t) => {
    const started = performance.now()
    const values = { 'maxmemory-policy': 'allkeys-lru', timeout: 300, 'lazyfree-lazy-user-del': true, 'notify-keyspace-events': 'KEA', hz: 20 }
    const result = await config.apply(ctx, values)
    t.diagnostic(`apply (one CONFIG SET of ${catalog.length} pairs): ${(performance.now() - started).toFixed(1)} ms`)
    assert.deepEqual(result.restartRequired, [])
    assert.deepEqual(await configGet(['maxmemory-policy', 'timeout', 'lazyfree-lazy-user-del', 'notify-keyspace-events', 'hz']), {
      'maxmemory-policy': 'allkeys-lru', timeout: '300', 'lazyfree-lazy-user-del': 'yes', 'notify-keyspace-events': 'AKE', hz: '20',
    })
    const effective = redis.engine.effectiveConfiguration(ctx)
    assert.equal(effective['maxmemory-policy'], 'allkeys-lru')
    assert.equal(effective.timeout, 300)
    assert.equal(effective.maxmemory, '307mb', 'tuned values stay beneath the overrides')
    assert.equal((await stat(join(ctx.guestDir, 'redis-configuration.json'))).mode & 0o777, 0o600)
  })

  it('refuses what Redis or the allow-list refuses, and changes nothing', async () => {
    await assert.rejects(config.apply(ctx, { timeout: 5, 'notify-keyspace-events': 'xyz' }), /Redis refused the configuration: .*notify-keyspace-events/)
    await assert.rejects(config.apply(ctx, { maxmemory: 1 }), /not supported/)
    assert.deepEqual(await configGet(['timeout', 'notify-keyspace-events']), { timeout: '300', 'notify-keyspace-events': 'AKE' })
    assert.deepEqual(JSON.parse(await readFile(join(ctx.guestDir, 'redis-configuration.json'), 'utf8')).timeout, 300)
  })

  it('takes every keyspace-event letter the catalog takes, and the catalog refuses what the probe sent', async () => {
    const file = JSON.parse(await readFile(join(ctx.guestDir, 'redis-configuration.json'), 'utf8')) as Record<string, string | number | boolean>
    const check = (events: string) => validateValues(catalog, { 'notify-keyspace-events': events }, 'redis 7.0')
    // Redis 7.0 takes 'zzz' (keeping 'z') but publishes nothing without K or E; 'q' it refuses itself.
    for (const events of ['zzz', 'KEq', 'K E']) assert.throws(() => check(events), /notify-keyspace-events is not allowed/, events)
    check('KEg$lshzxetmdnA')
    await config.apply(ctx, { ...file, 'notify-keyspace-events': 'KEg$lshzxetmdnA' })
    // Redis shows the classes it keeps in its own spelling ('A' for most of them).
    assert.equal((await configGet(['notify-keyspace-events']))['notify-keyspace-events'], 'AKEm')
    await config.apply(ctx, { ...file, 'notify-keyspace-events': 'K$lshzxetmdn' })
    assert.equal((await configGet(['notify-keyspace-events']))['notify-keyspace-events'], '$lshzxetdnKm')
    await config.apply(ctx, file)
    assert.deepEqual(await configGet(['timeout', 'notify-keyspace-events']), { timeout: '300', 'notify-keyspace-events': 'AKE' })
  })

  it('keeps the overrides across a restart, written into redis.conf', async () => {
    await restart()
    assert.deepEqual(await configGet(['maxmemory-policy', 'timeout', 'hz']), { 'maxmemory-policy': 'allkeys-lru', timeout: '300', hz: '20' })
    const conf = await readFile(redisPaths(ctx).conf, 'utf8')
    assert.deepEqual(conf.split('\n').filter((l) => l.startsWith('timeout ')), ['timeout "300"'], 'one line per parameter')
  })

  it('detaching (apply {}) brings every value back, live and after a restart', async () => {
    assert.deepEqual((await config.apply(ctx, {})).restartRequired, [])
    assert.deepEqual(await everything(), fresh)
    assert.equal((await everything())['maxmemory-policy'], 'volatile-lru')
    await restart()
    assert.deepEqual(await everything(), fresh)
    assert.equal(redis.engine.effectiveConfiguration(ctx)['maxmemory-policy'], 'volatile-lru')
  })

  it('stops for good', async () => {
    await redis.engine.stop(ctx)
    assert.equal((await redis.engine.status(ctx)).state, 'stopped')
  })
})
