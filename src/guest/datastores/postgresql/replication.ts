/**
 * PostgreSQL's replica sets: streaming replication of physical WAL, each replica a hot standby
 * streaming through its own slot on its source (slots.ts), its place in the set recorded in its
 * guestDir and rendered at every start (standby.ts). Seeding is in seed.ts.
 *
 * - fence: a fast shutdown (its shutdown checkpoint reaches every connected standby before the
 *   walsenders exit); its position is the shutdown checkpoint (pg_controldata). It is left stopped:
 *   any start (the node's, or its follow's) makes it a hot standby of nobody, read-only for
 *   everyone, superusers included, until it follows a source. A read-only setting would not do: a
 *   superuser may turn it off in their own session. Not starting it here saves a planned switchover
 *   a start and a stop: the old source's next step is its follow, which stops it anyway.
 * - follow: stop, pg_rewind from the new source (it says "no rewind required" unless this instance
 *   wrote WAL the new source never had, e.g. an old source after a failover), start as a standby.
 *   pg_rewind needs wal_log_hints (config.ts sets it on every instance).
 * - promote: pg_promote() and a 5 ms poll until out of recovery; then the record says source, so
 *   no start makes it a standby again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { BadRequest, CofferError } from '../../../core/errors.js'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import type { ReplicationAdmin, ReplicationSource, ReplicationStatus } from '../replication.js'
import { roleExists } from './catalog.js'
import type { PgClient } from './client.js'
import { reload } from './configuration.js'
import { dataDir, postmaster, serialised, startUnlocked, stopUnlocked, writeConfig } from './manager.js'
import { REPLICATION_USER } from './manifest.js'
import { controlData, runTool } from './pg-tool.js'
import { passwordForServer } from './scram.js'
import { ACCOUNT_SECRET, recordReplicaOf, seed, SERVICE_SECRET } from './seed.js'
import { withService } from './service-account.js'
import { checkpointSource, dropIdleSlots, ensureSlot } from './slots.js'
import { readRecord, slotName, writeRecord, type ReplicationRecord } from './standby.js'

const PROMOTE_TIMEOUT_MS = 60_000
const STREAMING_TIMEOUT_MS = 30_000

interface Account {
  readonly user: string
  readonly password: string
}

const inRecovery = async (c: PgClient): Promise<boolean> => (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === true

const notASource = (ctx: InstanceContext): CofferError =>
  new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} is a replica; only a source can be followed or made synchronous.`, { retryable: false })

/** The functions pg_rewind calls on its source, granted to the replication account (PostgreSQL's docs, pg_rewind). */
const REWIND_FUNCTIONS = [
  'pg_catalog.pg_ls_dir(text, boolean, boolean)',
  'pg_catalog.pg_stat_file(text, boolean)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
]

async function prepareSource(ctx: InstanceContext): Promise<Account> {
  // A replica keeps its source's account (seed.ts), so the set keeps one password across promotions.
  let account = await readSecret<Account>(ctx.guestDir, ACCOUNT_SECRET)
  if (!account) {
    account = { user: REPLICATION_USER, password: newPassword() }
    await writeSecret(ctx.guestDir, ACCOUNT_SECRET, account)
  }
  const { password } = account
  await serialised(ctx, async () => {
    await withService(ctx, async (c) => {
      if (await inRecovery(c)) throw notASource(ctx)
      const role = c.escapeIdentifier(REPLICATION_USER)
      const verb = (await roleExists(c, REPLICATION_USER)) ? 'ALTER' : 'CREATE'
      // Saved before it is set: a crash in between is mended by the next call.
      await c.query(`${verb} ROLE ${role} WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD ${c.escapeLiteral(await passwordForServer(password))}`)
      await c.query(`GRANT CONNECT ON DATABASE postgres TO ${role}`)
      for (const fn of REWIND_FUNCTIONS) await c.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${role}`)
      // See checkpointSource (slots.ts); pg_checkpoint is PostgreSQL 15's.
      await c.query(`GRANT pg_checkpoint TO ${role}`)
    })
    // pg_hba's replication lines, for an engine started before it had them.
    await writeConfig(ctx)
    await withService(ctx, reload)
  })
  // A hot standby cannot be given a service password of its own: its replicas log in with this one.
  const service = await readSecret<{ password?: string }>(ctx.guestDir, SERVICE_SECRET)
  return { user: REPLICATION_USER, password, ...(service?.password ? { carry: { servicePassword: service.password } } : {}) }
}

/** The position as pg_lsn takes it; refuses anything else before it reaches SQL. */
function lsn(position: string): string {
  if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(position)) throw new BadRequest(`Not a PostgreSQL WAL position: ${JSON.stringify(position)}.`)
  return position
}

const conninfoValue = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/**
 * pg_rewind of the stopped instance from `source`. Resolves with what was thrown away when it
 * rewound; undefined when nothing diverged. Rejects with ENGINE_STATE_CONFLICT when it cannot
 * rewind at all (another system, no wal_log_hints).
 */
async function rewind(ctx: InstanceContext, source: ReplicationSource): Promise<ReplicationRecord['rewound']> {
  const server = [['host', source.host], ['port', String(source.port)], ['user', source.user], ['dbname', 'postgres'], ['connect_timeout', '10']]
    .map(([k, v]) => `${k}=${conninfoValue(v ?? '')}`).join(' ')
  let output: string
  try {
    const { stdout, stderr } = await runTool(ctx, 'pg_rewind', ['--target-pgdata', dataDir(ctx), '--source-server', server], { login: source, timeoutMs: 0 })
    output = `${stdout}\n${stderr}`.trim()
  } catch (err) {
    const details = err instanceof CofferError ? err.details ?? '' : ''
    if (/different systems|wal_log_hints|could not find common ancestor|is not a child/i.test(details)) {
      throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} cannot rejoin ${source.instanceId} as a replica.`, { retryable: false, cause: err, details })
    }
    throw err
  }
  if (/no rewind required/i.test(output)) return undefined
  const divergedAt = /diverged at WAL location (\S+)/.exec(output)?.[1] ?? 'unknown'
  return { at: new Date().toISOString(), divergedAt, output: output.split('\n').slice(-10).join('\n') }
}

const sameSource = (a: ReplicationRecord['source'], b: ReplicationSource): boolean =>
  !!a && a.instanceId === b.instanceId && a.host === b.host && a.port === b.port && a.user === b.user && a.password === b.password

/**
 * Waits until the WAL receiver streams the source's timeline `timeline`. A receiver that only
 * connects is not enough: a standby past its new source's fork point connects, streams the old
 * timeline up to the fork and stops there, again and again.
 */
async function waitStreaming(ctx: InstanceContext, timeline: number): Promise<void> {
  const deadline = Date.now() + STREAMING_TIMEOUT_MS
  await withService(ctx, async (c) => {
    for (;;) {
      const r = await c.query<{ status: string; tli: number }>('SELECT status, received_tli AS tli FROM pg_stat_wal_receiver')
      if (r.rows[0]?.status === 'streaming' && (r.rows[0]?.tli ?? 0) >= timeline) return
      if (Date.now() > deadline) throw new CofferError('TIMEOUT', `Replica ${ctx.instanceId} did not stream from its source within ${STREAMING_TIMEOUT_MS / 1000} s.`)
      ctx.signal?.throwIfAborted()
      await sleep(20)
    }
  })
}

async function follow(ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  const timeline = await serialised(ctx, async () => {
    const record = await readRecord(ctx)
    const running = await postmaster(ctx)
    // The slot first: from now on the new source keeps the WAL this instance will ask for.
    const tli = await ensureSlot(source, slotName(ctx.instanceId))
    if (running && record?.role === 'replica' && sameSource(record.source, source) && (await withService(ctx, inRecovery))) return tli
    await checkpointSource(source)
    if (running) await stopUnlocked(ctx)
    const rewound = await rewind(ctx, source)
    await recordReplicaOf(ctx, source)
    if (rewound) await writeRecord(ctx, { ...(await readRecord(ctx)), role: 'replica', rewound })
    await startUnlocked(ctx)
    return tli
  })
  // Slots it kept as a source: its replicas follow someone else now.
  await withService(ctx, dropIdleSlots)
  await waitStreaming(ctx, timeline)
}

async function promote(ctx: InstanceContext): Promise<void> {
  await serialised(ctx, async () => {
    // A stopped replica starts as the standby it is, and is promoted from there: starting it
    // without standby.signal would make it writable on its source's timeline, which pg_rewind
    // could not tell apart later.
    if (!(await postmaster(ctx))) await startUnlocked(ctx)
    await withService(ctx, async (c) => {
      if (!(await inRecovery(c))) return
      await c.query('SELECT pg_promote(false)')
      const deadline = Date.now() + PROMOTE_TIMEOUT_MS
      while (await inRecovery(c)) {
        if (Date.now() > deadline) throw new CofferError('TIMEOUT', `Replica ${ctx.instanceId} was still in recovery ${PROMOTE_TIMEOUT_MS / 1000} s after pg_promote().`)
        await sleep(5)
      }
    })
    // Recorded once promoted: a crash before this leaves a record that restarts it as a standby,
    // and promote again promotes it again. Synchronous replicas are for the node to name anew.
    const { rewound } = (await readRecord(ctx)) ?? {}
    await writeRecord(ctx, { role: 'source', ...(rewound ? { rewound } : {}) })
    // Out of postgresql.conf go primary_conninfo and its password.
    await writeConfig(ctx)
  })
  await withService(ctx, reload)
}

async function fence(ctx: InstanceContext): Promise<{ position: string }> {
  return serialised(ctx, async () => {
    const record = await readRecord(ctx)
    const { rewound } = record ?? {}
    const fenced: ReplicationRecord = { role: 'fenced', ...(rewound ? { rewound } : {}) }
    const running = await postmaster(ctx)
    if (running && (await withService(ctx, inRecovery))) {
      // Already read-only for everyone: only stop following.
      await writeRecord(ctx, fenced)
      await writeConfig(ctx)
      return withService(ctx, async (c) => {
        await reload(c)
        return { position: (await c.query<{ p: string }>('SELECT pg_last_wal_replay_lsn()::text AS p')).rows[0]?.p ?? '0/0' }
      })
    }
    // Fewer dirty pages for the shutdown checkpoint, while writes are still taken.
    if (running) await withService(ctx, (c) => c.query('CHECKPOINT')).catch(() => undefined)
    // Recorded first: whatever happens next, no start makes it writable.
    await writeRecord(ctx, fenced)
    if (running) await stopUnlocked(ctx)
    // A clean shutdown's last record; for an engine that crashed, its last checkpoint (a lower bound).
    return { position: (await controlData(ctx, dataDir(ctx))).get('Latest checkpoint location') ?? '0/0' }
  })
}

async function caughtUp(ctx: InstanceContext, position: string): Promise<boolean> {
  const target = lsn(position)
  return withService(ctx, async (c) => {
    const r = await c.query<{ ok: boolean | null }>(
      'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) >= $1::pg_lsn AS ok',
      [target],
    )
    return r.rows[0]?.ok === true
  })
}

interface EngineReplicationRow {
  standby: boolean
  following: boolean
  position: string | null
  receiver: string | null
  lag_bytes: string | null
  lag_seconds: number | null
}

const STATUS_QUERY = `
  WITH w AS (SELECT status, latest_end_lsn FROM pg_stat_wal_receiver)
  SELECT pg_is_in_recovery() AS standby,
         current_setting('primary_conninfo') <> '' AS following,
         (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS position,
         (SELECT status FROM w) AS receiver,
         greatest(0, pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), (SELECT latest_end_lsn FROM w)), pg_last_wal_replay_lsn()))::text AS lag_bytes,
         extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag_seconds`

async function status(ctx: InstanceContext): Promise<ReplicationStatus> {
  const record = await readRecord(ctx).catch(() => undefined)
  try {
    return await withService(ctx, async (c) => {
      const r = (await c.query<EngineReplicationRow>(STATUS_QUERY)).rows[0]
      if (!r) throw new Error('no row')
      const position = r.position ?? undefined
      if (!r.standby) {
        const s = (await c.query<{ replicas: number; synchronous: number }>(
          "SELECT count(*)::int AS replicas, count(*) FILTER (WHERE sync_state IN ('sync', 'quorum'))::int AS synchronous FROM pg_stat_replication WHERE state IN ('startup', 'catchup', 'streaming')",
        )).rows[0]
        // application_name is the replica's instance id (standby.ts).
        const lags = (await c.query<{ id: string; lag: string }>(
          'SELECT application_name AS id, greatest(0, pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn))::text AS lag FROM pg_stat_replication WHERE flush_lsn IS NOT NULL',
        )).rows
        const replicaLagBytes = Object.fromEntries(lags.map((l) => [l.id, Number(l.lag)]))
        return { role: 'source', ...(position ? { position } : {}), replicas: s?.replicas ?? 0, synchronous: s?.synchronous ?? 0, ...(lags.length > 0 ? { replicaLagBytes } : {}) }
      }
      if (!r.following) return { role: 'fenced', ...(position ? { position } : {}) }
      const lagBytes = Number(r.lag_bytes ?? 0)
      // Seconds only while something is left to replay: an idle source writes no transactions.
      const lagSeconds = lagBytes > 0 && r.lag_seconds !== null ? Math.max(0, r.lag_seconds) : 0
      return { role: 'replica', connected: r.receiver === 'streaming', lagBytes, lagSeconds, ...(position ? { position } : {}) }
    })
  } catch {
    return { role: record?.role ?? 'source', connected: false }
  }
}

async function setSynchronous(ctx: InstanceContext, replicas: readonly string[]): Promise<void> {
  await serialised(ctx, async () => {
    const record: ReplicationRecord = (await readRecord(ctx)) ?? { role: 'source' }
    if (record.role !== 'source') throw notASource(ctx)
    await writeRecord(ctx, { ...record, synchronous: [...replicas] })
    await writeConfig(ctx)
    await withService(ctx, reload)
  })
}

/** PostgreSQL's ReplicationAdmin. */
export const postgresqlReplication: ReplicationAdmin = { prepareSource, seed, follow, promote, fence, caughtUp, status, setSynchronous }
