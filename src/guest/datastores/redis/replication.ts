/**
 * Redis replica sets with Redis's own replication (REPLICAOF, PSYNC). A replica logs in to its
 * source as the ACL user `coffer_repl`, which may replicate, run INFO and list the ACL, nothing else;
 * its password is made by prepareSource in the source's guestDir, and a replica keeps what it was
 * given in its own guestDir and, as `masterauth`, in the redis.conf Coffer renders at every start
 * (replication-state.ts). Redis has no per-address login rules: the account is reachable wherever
 * the source listens, with its password only.
 *
 * Redis does not replicate ACLs, so a replica copies its source's client users (root included) at
 * seed, at every follow and every start (refreshReplicaUsers), and whenever the control plane asks
 * after a change on the source (copyUsers), read through that same account, with rules added that
 * keep them from making the replica writable (REPLICA_LIMITS); its service user stays its own.
 *
 * Fence: `min-replicas-to-write` above any possible count makes Redis refuse every client write at
 * once (NOREPLICAS: commands, scripts, functions, MULTI), kept in the instance's records so a
 * restart stays fenced. Not CLIENT PAUSE WRITE: it holds writers (and every EVAL) blocked instead of
 * refusing them, and runs them when the pause ends. No synchronous mode: Redis has none (WAIT is
 * per client call).
 */
import { CofferError } from '../../../core/errors.js'
import { writeFileAtomic } from '../common/files.js'
import { serialised } from '../common/serialise.js'
import type { InstanceContext } from '../datastore.js'
import type { ReplicationAdmin, ReplicationSource, ReplicationStatus, SeedProgress } from '../replication.js'
import { ensureServicePassword, isLoading, redacted, transaction, withService, type RedisClient } from './client.js'
import { renderAclFile, REPL_RULES } from './config.js'
import { engineDir, redisEngine, redisPaths, serverPid } from './manager.js'
import { REPL_USER } from './manifest.js'
import {
  aclUserName, clientUserLines, ensureReplPassword, FENCE_REPLICAS, readRole, replicaAclText, userRules, writeRole,
  type FollowedSource, type ReplicationRole,
} from './replication-state.js'
import { historyOf, sourceHistory, sourceView, type SourceHistory } from './source-view.js'
import { infoFields } from './snapshot.js'

/** How long a replica's status waits for its source's offset (its lag in bytes) before leaving it out. */
const LAG_PROBE_MS = 1_000

const locked = <T>(ctx: InstanceContext, fn: () => Promise<T>): Promise<T> => serialised(ctx.volumeDir, fn)

const replication = async (c: RedisClient): Promise<Map<string, string>> => infoFields(await c.info('replication'))

const followed = (source: ReplicationSource): FollowedSource =>
  ({ instanceId: source.instanceId, host: source.host, port: source.port, user: source.user, password: source.password })

/**
 * Makes the instance's client users exactly `users` (ACL LIST lines of its source), with
 * REPLICA_LIMITS when `replica`, in one MULTI ending with ACL SAVE. Users whose source line is the
 * same as in `applied` (what the last call applied, the same way) are left alone, so their
 * connections stay; users not in `users` go.
 */
async function setUsers(c: RedisClient, users: readonly string[], replica: boolean, applied: readonly string[] = []): Promise<void> {
  const unchanged = new Set(applied)
  const wanted = new Set(users.map(aclUserName))
  const current = clientUserLines((await c.call('ACL', 'LIST')) as string[]).map(aclUserName)
  const commands = [
    ...current.filter((name) => !wanted.has(name)).map((name) => ['ACL', 'DELUSER', name]),
    ...users.filter((line) => !unchanged.has(line)).map((line) => ['ACL', 'SETUSER', aclUserName(line), 'reset', ...userRules(line, replica)]),
  ]
  if (commands.length > 0) await transaction(c, [...commands, ['ACL', 'SAVE']])
}

/**
 * Throws ENGINE_STATE_CONFLICT unless REPLICAOF can make this instance follow `source` without
 * silently dropping writes only it has: a replica holds nothing of its own; a source (fenced or
 * not) must be part of the source's history, up to where the source was promoted; an instance
 * without keys has nothing to lose. A source restarted since its last write gets a new replication
 * id (Redis keeps none with the AOF), so its history cannot be shown and it is refused.
 */
function checkRejoin(ctx: InstanceContext, own: ReadonlyMap<string, string>, role: ReplicationRole, source: SourceHistory): void {
  if (own.get('role') === 'slave') return
  // Fenced: nothing was written after the fence, whatever offsets the source's own pings added since.
  const mine = role.fenced ?? { replid: own.get('master_replid') ?? '', offset: Number(own.get('master_repl_offset') ?? 0) }
  if (mine.replid === source.replid && mine.offset <= source.offset) return
  if (mine.replid === source.replid2 && mine.offset < source.secondOffset) return
  if (![...own.keys()].some((k) => /^db\d+$/.test(k))) return
  throw new CofferError(
    'ENGINE_STATE_CONFLICT',
    `Instance ${ctx.instanceId} holds writes its new source may not have (its history ${mine.replid} up to offset ${mine.offset} is not part of the source's, ` +
      `which was promoted from ${source.replid2} at offset ${source.secondOffset}); following it would drop them. Detach it or replace it with a new replica.`,
    { retryable: false },
  )
}

async function prepareSource(ctx: InstanceContext): Promise<{ user: string; password: string }> {
  const password = await ensureReplPassword(ctx)
  await withService(ctx, (c) => transaction(c, [['ACL', 'SETUSER', REPL_USER, 'reset', 'on', `>${password}`, ...REPL_RULES], ['ACL', 'SAVE']]))
  return { user: REPL_USER, password }
}

async function seed(ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  ctx.signal?.throwIfAborted()
  const running = await serverPid(ctx)
  if (running) throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} has a running Redis (pid ${running}); a seed goes only into a new instance's stopped engine.`, { retryable: false })
  // Read first: wrong credentials or an unreachable source fail here, with nothing written.
  const view = await sourceView(source)
  ctx.signal?.throwIfAborted()
  const paths = redisPaths(ctx)
  await engineDir(ctx, paths.dataDir)
  await engineDir(ctx, paths.logDir)
  // The replica's own service user (its own password) goes in at start, beside the source's users.
  await writeFileAtomic(paths.aclFile, renderAclFile(replicaAclText(view.users), await ensureServicePassword(ctx)), { mode: 0o600, account: ctx.account, durable: true })
  // The first start renders replicaof from this; Redis's full sync then brings the data.
  await writeRole(ctx, { follows: followed(source), users: view.users })
}

async function follow(ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  await redisEngine.start(ctx)
  const view = await sourceView(source)
  await locked(ctx, () =>
    withService(ctx, async (c) => {
      const own = new Map([...(await replication(c)), ...infoFields(await c.info('keyspace'))])
      const role = await readRole(ctx)
      checkRejoin(ctx, own, role, view)
      await setUsers(c, view.users, true, role.follows ? role.users : undefined)
      // Saved before the engine changes: a restart from here on comes back following `source`.
      await writeRole(ctx, { follows: followed(source), users: view.users })
      try {
        await c.call('CONFIG', 'SET', 'masteruser', source.user, 'masterauth', source.password, 'replica-read-only', 'yes')
      } catch (err) {
        throw redacted(err, [source.password])
      }
      await c.call('REPLICAOF', source.host, String(source.port))
      // A replica now, read-only to clients whatever min-replicas-to-write says: the fence is moot.
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', '0')
    }),
  )
}

async function copyUsers(ctx: InstanceContext, source: ReplicationSource, timeoutMs?: number): Promise<void> {
  // The source is read under the lock: two copies at once cannot land an older list after a newer one.
  await locked(ctx, () =>
    withService(ctx, async (c) => {
      const role = await readRole(ctx)
      if (role.follows?.instanceId !== source.instanceId) {
        throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} is not a replica of ${source.instanceId}; its users are its own.`, { retryable: false })
      }
      const view = await sourceView(source, timeoutMs)
      await setUsers(c, view.users, true, role.users)
      await writeRole(ctx, { ...role, users: view.users })
    }),
  )
}

/** How long a replica's start waits for its source's users before it keeps the ones it had. */
const REFRESH_TIMEOUT_MS = 2_000

/**
 * After a start: a replica takes its source's users as they are now, so a change made on the source
 * while the replica was stopped (or still being built) is not missed. A source that does not answer
 * leaves the replica with the users it had: a replica must start while its source is down.
 */
export async function refreshReplicaUsers(ctx: InstanceContext): Promise<void> {
  const { follows } = await readRole(ctx)
  if (!follows) return
  await copyUsers(ctx, follows, REFRESH_TIMEOUT_MS).catch(() => undefined)
}

async function promote(ctx: InstanceContext): Promise<void> {
  await redisEngine.start(ctx)
  await locked(ctx, () =>
    withService(ctx, async (c) => {
      const role = await readRole(ctx)
      await c.call('REPLICAOF', 'NO', 'ONE')
      // Its users get back the commands a replica kept from them.
      if (role.users) await setUsers(c, role.users, false)
      await writeRole(ctx, {})
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', '0', 'masteruser', '', 'masterauth', '')
    }),
  )
}

async function fence(ctx: InstanceContext): Promise<{ position: string }> {
  return locked(ctx, () =>
    withService(ctx, async (c) => {
      // Read after the refusals began, the offset is that of the last write. Not in a MULTI: a
      // Redis over its maxmemory refuses every queued command (OOM), and a full one may need fencing.
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', String(FENCE_REPLICAS), 'min-replicas-max-lag', '10')
      const now = historyOf(infoFields(await c.info('replication')))
      const role = await readRole(ctx)
      // Fenced already: its first position stands (no client wrote since; only pings and expiries moved the offset).
      const fenced = role.fenced?.replid === now.replid ? role.fenced : { replid: now.replid, offset: now.offset }
      if (fenced !== role.fenced) await writeRole(ctx, { ...role, fenced })
      return { position: String(fenced.offset) }
    }),
  )
}

async function caughtUp(ctx: InstanceContext, position: string): Promise<boolean> {
  const fields = await withService(ctx, replication)
  const replayed = fields.get('role') === 'slave' ? fields.get('slave_repl_offset') : fields.get('master_repl_offset')
  return Number(replayed ?? -1) >= Number(position)
}

/**
 * How far a started replica is with its source's data: Redis copies it after the replica starts (a
 * full sync, then the load of the received snapshot, during which it answers only LOADING).
 */
async function seeded(ctx: InstanceContext): Promise<SeedProgress> {
  try {
    const fields = await withService(ctx, replication)
    if (fields.get('role') !== 'slave') return 'waiting'
    if (fields.get('master_sync_in_progress') === '1') return 'copying'
    return fields.get('master_link_status') === 'up' ? 'whole' : 'waiting'
  } catch (err) {
    if (isLoading(err)) return 'copying'
    throw err
  }
}

async function status(ctx: InstanceContext): Promise<ReplicationStatus> {
  let role: ReplicationRole = {}
  try {
    role = await readRole(ctx)
    const fields = await withService(ctx, replication)
    if (fields.get('role') === 'slave') {
      const connected = fields.get('master_link_status') === 'up'
      const replayed = Number(fields.get('slave_repl_offset') ?? 0)
      const source = role.follows ? await sourceHistory(role.follows, LAG_PROBE_MS) : undefined
      const lagBytes = source ? Math.max(0, source.offset - replayed) : undefined
      // Redis keeps no time per write: since the last word from the source, 0 when nothing is missing.
      const downFor = Number(fields.get('master_link_down_since_seconds') ?? -1)
      const lagSeconds = connected ? (lagBytes === 0 ? 0 : Number(fields.get('master_last_io_seconds_ago') ?? 0)) : downFor >= 0 ? downFor : undefined
      return {
        role: 'replica',
        connected,
        position: String(replayed),
        ...(lagBytes !== undefined ? { lagBytes } : {}),
        ...(lagSeconds !== undefined ? { lagSeconds } : {}),
      }
    }
    const replicas = [...fields].filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length
    return { role: role.fenced ? 'fenced' : 'source', position: fields.get('master_repl_offset') ?? '0', replicas }
  } catch {
    return { role: role.follows ? 'replica' : role.fenced ? 'fenced' : 'source', connected: false }
  }
}

/** Redis's ReplicationAdmin; no setSynchronous (Redis has no synchronous replication). */
export const redisReplication: ReplicationAdmin = { prepareSource, seed, seeded, follow, copyUsers, promote, fence, caughtUp, status }
