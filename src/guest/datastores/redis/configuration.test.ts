import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { validateValues } from '../../../core/configuration.js'
import type { InstanceContext } from '../datastore.js'
import { engineSettings, renderRedisConf } from './config.js'
import { REDIS_PARAMETERS, redisCatalog, redisParameter, redisValue, wantedValues } from './parameters.js'
import { redisTuning } from './tuning.js'

const ctx = { instanceId: 'i-1', bindAddress: '127.0.0.1', port: 7000, flavor: { ramMb: 512, vcpus: 1 } } as InstanceContext
const paths = { conf: '/v/redis.conf', aclFile: '/v/users.acl', dataDir: '/v/data', logFile: '/v/log/redis.log', socket: '/r/redis.sock', pidFile: '/r/redis.pid' }
const base = new Map(engineSettings(redisTuning(ctx.flavor)))

describe('Redis parameter list', () => {
  it('is sorted, live-only, and free of what the flavor or Coffer decides', () => {
    const names = redisCatalog().map((p) => p.name)
    assert.deepEqual(names, [...names].sort())
    assert.ok(names.length >= 20 && names.length <= 40, String(names.length))
    // apply() reports no restart on the strength of this: every parameter is taken by CONFIG SET live.
    assert.ok(REDIS_PARAMETERS.every((p) => !p.restartRequired))
    for (const bad of ['maxmemory', 'maxclients', 'io-threads', 'bind', 'port', 'dir', 'dbfilename', 'appendonly', 'save', 'requirepass',
      'aclfile', 'unixsocket', 'protected-mode', 'enable-debug-command', 'databases', 'replicaof', 'loadmodule', 'activedefrag']) {
      assert.equal(redisParameter(bad), undefined, bad)
    }
  })

  it('shows no bookkeeping and only real lists of allowed values', () => {
    for (const p of redisCatalog()) {
      assert.ok(!('default' in p), p.name)
      assert.ok(p.allowed === undefined || p.allowed.length > 0, p.name)
    }
    assert.equal(redisCatalog().find((p) => p.name === 'notify-keyspace-events')?.type, 'string')
  })

  it('takes the keyspace-event letters Redis 7.0 knows, with K or E, and the enums\' values only', () => {
    const check = (values: Record<string, unknown>) => validateValues(redisCatalog(), values, 'redis 7.0')
    for (const events of ['', 'KEA', 'K$lshzxetmdn', 'Ex', 'AK']) assert.doesNotThrow(() => check({ 'notify-keyspace-events': events }), events)
    // Redis 7.0 takes 'zzz' (as 'z') but publishes nothing without K or E; 'q' it refuses.
    for (const events of ['zzz', 'KEq', 'K E', 'K,E', '../x']) {
      assert.throws(() => check({ 'notify-keyspace-events': events }), /notify-keyspace-events is not allowed: it must be letters from K E g \$ l s h z x e t m d n A/, events)
    }
    assert.throws(() => check({ 'maxmemory-policy': 'lru' }), /maxmemory-policy is not one of: .*allkeys-lru/)
    assert.throws(() => check({ appendfsync: 'sometimes' }), /appendfsync is not one of: always, everysec, no/)
    for (const p of redisCatalog()) if (p.type === 'string') assert.ok(p.allowed || p.pattern !== undefined, `${p.name} has a format`)
  })

  it('records defaults that pass the catalog\'s own rules', () => {
    const defaults = Object.fromEntries(REDIS_PARAMETERS.map((p) => [p.name, p.type === 'boolean' ? p.default === 'yes' : p.default]))
    assert.doesNotThrow(() => validateValues(redisCatalog(), defaults, 'redis 7.0'))
  })
})

describe('Redis overrides', () => {
  it('wants the override, else Coffer\'s value, else Redis\'s default', () => {
    const wanted = new Map(wantedValues({ timeout: 300, 'lazyfree-lazy-user-del': true }, base))
    assert.equal(wanted.size, REDIS_PARAMETERS.length)
    assert.equal(wanted.get('timeout'), '300')
    assert.equal(wanted.get('lazyfree-lazy-user-del'), 'yes')
    assert.equal(wanted.get('maxmemory-policy'), 'volatile-lru', 'from the flavor, not Redis\'s noeviction')
    assert.equal(wanted.get('slowlog-max-len'), '128')
    assert.equal(redisValue(false), 'no')
    assert.equal(redisValue(-2), '-2')
  })

  it('renders overrides into redis.conf, one line per name', () => {
    const conf = renderRedisConf(ctx, redisTuning(ctx.flavor), paths, { timeout: 300, 'notify-keyspace-events': 'KEA', 'lazyfree-lazy-expire': true })
    const lines = conf.split('\n')
    assert.deepEqual(lines.filter((l) => /^timeout /.test(l)), ['timeout "300"'])
    assert.ok(lines.indexOf('timeout "300"') < lines.indexOf('tcp-keepalive 300'), 'replaced in place')
    assert.ok(lines.includes('notify-keyspace-events "KEA"'))
    assert.ok(lines.includes('lazyfree-lazy-expire "yes"'))
    assert.equal(renderRedisConf(ctx, redisTuning(ctx.flavor), paths), renderRedisConf(ctx, redisTuning(ctx.flavor), paths, {}))
    assert.throws(() => renderRedisConf(ctx, redisTuning(ctx.flavor), paths, { 'timeout 1\nport': 1 }), /not a parameter name/)
    assert.throws(() => renderRedisConf(ctx, redisTuning(ctx.flavor), paths, { 'notify-keyspace-events': 'K\nport 1' }), /line breaks/)
  })
})
