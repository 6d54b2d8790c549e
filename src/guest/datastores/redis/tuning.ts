/**
 * Redis settings derived from the flavor. Pure.
 *
 * - maxmemory: 60% of RAM, whole megabytes, at least 16 MB. The rest is headroom Redis needs
 *   outside its data: an AOF rewrite forks the server, and every page written while the child runs
 *   is copied (copy-on-write can approach a second copy of the data under heavy writes), plus
 *   client buffers, the AOF buffer and allocator fragmentation, none of which maxmemory counts.
 *   Managed services reserve similar shares (ElastiCache reserves 25% by default, for rewrites and
 *   replication alone).
 * - maxmemory-policy: volatile-lru. A database service must not silently drop data a client
 *   stored for good, so keys without a TTL are never evicted: once only those are left, writes
 *   fail with an OOM error, as with noeviction. Keys with a TTL were declared disposable by the
 *   client, so cache-style use still works when memory is full instead of failing every write.
 * - maxclients: 4 per MB of RAM, between 128 and 10000 (Redis's default and the usual ceiling).
 *   An idle client costs ~20 kB (client struct, query and reply buffers), so the full allowance
 *   stays a small share of RAM.
 * - io-threads: Redis's guidance is threads only from 4 cores, leaving cores spare (4 → 3, 8 → 6);
 *   at most 8. Below 4 cores a single thread is faster.
 */
import type { InstanceContext } from '../datastore.js'

/** CPU and RAM of an instance. */
export type Flavor = InstanceContext['flavor']

/** Setting name → value as written in redis.conf ("307mb", "volatile-lru", "2048"). */
export type RedisTuning = Readonly<Record<'maxmemory' | 'maxmemory-policy' | 'maxclients' | 'io-threads', string>>

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n))

/** The settings for a flavor (see the rules above). */
export function redisTuning(flavor: Flavor): RedisTuning {
  const ramMb = Math.max(1, Math.floor(flavor.ramMb))
  const vcpus = Math.max(1, Math.floor(flavor.vcpus))
  return {
    // Redis reads "mb" as 1024 × 1024 bytes.
    maxmemory: `${Math.max(16, Math.floor(ramMb * 0.6))}mb`,
    'maxmemory-policy': 'volatile-lru',
    maxclients: String(clamp(ramMb * 4, 128, 10_000)),
    'io-threads': String(vcpus < 4 ? 1 : Math.min(8, Math.floor((vcpus * 3) / 4))),
  }
}
