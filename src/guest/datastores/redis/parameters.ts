/**
 * The Redis parameters a configuration group may set: a curated list, since Redis has no
 * pg_settings to ask for types and bounds (CONFIG GET gives values only). Pure.
 *
 * Each entry records Redis 7.0's own default, the value a parameter returns to when a group no
 * longer sets it, unless Coffer derives it from the flavor (tuning.ts: maxmemory-policy) or sets it
 * in redis.conf (config.ts: appendfsync, timeout, tcp-keepalive, which equal Redis's defaults).
 * Bounds are Redis's own where it checks them, tighter where its own are meaningless (hz above 500
 * is clamped to 500). Sizes are bare bytes, times as Redis names them in each description.
 *
 * Left out on purpose: what the flavor decides (maxmemory, maxclients, io-threads), files and
 * folders (dir, dbfilename, logfile, aclfile), listeners (bind, port, unixsocket, tls-*),
 * security (protected-mode, requirepass, enable-*-command, rename-command), durability Coffer
 * promises (appendonly, save), replication (replica-*, repl-*: the replication strategy owns
 * them), `databases`, anything that loads modules, and activedefrag (Debian's Redis is built
 * against a jemalloc without the defragmentation hint, so it refuses to turn it on).
 */
import type { ParameterSpec } from '../../../core/configuration.js'

/** A catalog entry and the value Redis has when nothing sets it (as CONFIG GET shows it). */
export interface RedisParameter extends ParameterSpec {
  readonly default: string
}

const INT_MAX = 2_147_483_647
// Redis takes up to LLONG_MAX for some; JSON and JavaScript numbers are exact only to 2^53 − 1.
const BIG = Number.MAX_SAFE_INTEGER
const POLICIES = ['volatile-lru', 'allkeys-lru', 'volatile-lfu', 'allkeys-lfu', 'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction']

// The classes Redis 7.0 knows; without K (keyspace) or E (keyevent) it accepts the value but publishes nothing.
const KEYSPACE_EVENTS = '|(?=[^KE]*[KE])[KEg$lshzxetmdnA]+'

const int = (name: string, dflt: number, min: number, max: number, description: string): RedisParameter =>
  ({ name, type: 'integer', min, max, restartRequired: false, default: String(dflt), description })
const bool = (name: string, dflt: boolean, description: string): RedisParameter =>
  ({ name, type: 'boolean', restartRequired: false, default: dflt ? 'yes' : 'no', description })
const text = (name: string, dflt: string, pattern: string, format: string, description: string): RedisParameter =>
  ({ name, type: 'string', pattern, format, restartRequired: false, default: dflt, description })
const oneOf = (name: string, dflt: string, allowed: readonly string[], description: string): RedisParameter =>
  ({ name, type: 'string', allowed, restartRequired: false, default: dflt, description })

/** Every parameter a group may set; all of them CONFIG SET takes live, so none needs a restart. */
export const REDIS_PARAMETERS: readonly RedisParameter[] = [
  // Memory and eviction (maxmemory itself comes from the flavor)
  oneOf('maxmemory-policy', 'noeviction', POLICIES, 'How keys are evicted when maxmemory is reached. Coffer default: volatile-lru.'),
  int('maxmemory-samples', 5, 1, 64, 'Keys sampled per eviction by the LRU, LFU and TTL policies.'),
  int('maxmemory-eviction-tenacity', 10, 0, 100, 'Effort spent evicting per command once over maxmemory.'),
  int('lfu-log-factor', 10, 0, INT_MAX, 'Logarithmic factor of the LFU access counter.'),
  int('lfu-decay-time', 1, 0, INT_MAX, 'Minutes after which the LFU access counter is halved.'),
  bool('lazyfree-lazy-eviction', false, 'Free evicted keys in a background thread.'),
  bool('lazyfree-lazy-expire', false, 'Free expired keys in a background thread.'),
  bool('lazyfree-lazy-server-del', false, 'Free keys deleted implicitly (e.g. overwritten by RENAME) in a background thread.'),
  bool('lazyfree-lazy-user-del', false, 'Make DEL behave like UNLINK.'),
  bool('lazyfree-lazy-user-flush', false, 'Make FLUSHDB and FLUSHALL asynchronous by default.'),
  int('active-expire-effort', 1, 1, 10, 'Effort spent expiring keys in the background.'),
  // Clients
  int('timeout', 0, 0, INT_MAX, 'Close a client idle for this many seconds; 0 never.'),
  int('tcp-keepalive', 300, 0, INT_MAX, 'Seconds between TCP keepalive probes to clients; 0 off.'),
  int('busy-reply-threshold', 5000, 0, INT_MAX, 'Milliseconds a script or function may run before Redis answers BUSY to others.'),
  int('tracking-table-max-keys', 1_000_000, 0, BIG, 'Keys remembered for client-side caching invalidation; 0 no limit.'),
  text('notify-keyspace-events', '', KEYSPACE_EVENTS, 'letters from K E g $ l s h z x e t m d n A, with K or E among them; or empty for none',
    'Keyspace events published (letters of "KEg$lshzxetmdnA"); empty for none.'),
  // Persistence (the AOF is always on)
  oneOf('appendfsync', 'everysec', ['always', 'everysec', 'no'], 'When the append-only file is flushed to disk.'),
  bool('no-appendfsync-on-rewrite', false, 'Skip fsync while an AOF rewrite or snapshot runs (may lose more on a crash).'),
  int('auto-aof-rewrite-percentage', 100, 0, INT_MAX, 'Rewrite the AOF when it grew by this percentage; 0 never.'),
  int('auto-aof-rewrite-min-size', 67_108_864, 0, BIG, 'Smallest AOF size in bytes that is rewritten automatically.'),
  // Diagnostics
  int('slowlog-log-slower-than', 10_000, -1, BIG, 'Microseconds above which a command enters the slow log; -1 off, 0 all.'),
  int('slowlog-max-len', 128, 0, BIG, 'Entries kept in the slow log.'),
  int('latency-monitor-threshold', 0, 0, BIG, 'Milliseconds above which events are sampled by the latency monitor; 0 off.'),
  bool('latency-tracking', true, 'Track per-command latency percentiles (INFO latencystats).'),
  int('hz', 10, 1, 500, 'Background task frequency per second.'),
  bool('dynamic-hz', true, 'Raise hz with the number of clients.'),
  // Encodings of small values
  int('hash-max-listpack-entries', 512, 0, BIG, 'Hashes up to this many fields use the compact encoding.'),
  int('hash-max-listpack-value', 64, 0, BIG, 'Hash values up to this many bytes use the compact encoding.'),
  int('list-max-listpack-size', -2, -5, INT_MAX, 'List node size: entries when positive, -1..-5 for 4..64 kB.'),
  int('list-compress-depth', 0, 0, INT_MAX, 'List nodes left uncompressed at each end; 0 no compression.'),
  int('set-max-intset-entries', 512, 0, BIG, 'Sets of integers up to this size use the compact encoding.'),
  int('zset-max-listpack-entries', 128, 0, BIG, 'Sorted sets up to this many members use the compact encoding.'),
  int('zset-max-listpack-value', 64, 0, BIG, 'Sorted-set members up to this many bytes use the compact encoding.'),
  int('stream-node-max-bytes', 4096, 0, BIG, 'Largest stream node in bytes; 0 no limit.'),
  int('stream-node-max-entries', 100, 0, BIG, 'Most entries in a stream node; 0 no limit.'),
  int('hll-sparse-max-bytes', 3000, 0, BIG, 'HyperLogLog sparse representation limit in bytes.'),
].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

const byName = new Map(REDIS_PARAMETERS.map((p) => [p.name, p]))

/** The parameter named `name`, or undefined when a group may not set it. */
export const redisParameter = (name: string): RedisParameter | undefined => byName.get(name)

/** The catalog clients see: the list without Coffer's bookkeeping, sorted by name. */
export function redisCatalog(): ParameterSpec[] {
  return REDIS_PARAMETERS.map(({ default: _default, allowed, ...spec }) => ({ ...spec, ...(allowed && allowed.length > 0 ? { allowed: [...allowed] } : {}) }))
}

/** A value as redis.conf and CONFIG SET take it. */
export const redisValue = (value: string | number | boolean): string =>
  typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value)

/**
 * Every group parameter with the value it should have: the override where the group sets one,
 * else what Coffer's own redis.conf sets (`base`: flavor-derived or fixed), else Redis's default.
 * What one CONFIG SET applies.
 */
export function wantedValues(overrides: Readonly<Record<string, string | number | boolean>>, base: ReadonlyMap<string, string>): [string, string][] {
  return REDIS_PARAMETERS.map((p): [string, string] => {
    const set = overrides[p.name]
    return [p.name, set !== undefined ? redisValue(set) : (base.get(p.name) ?? p.default)]
  })
}
