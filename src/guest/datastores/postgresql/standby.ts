/**
 * An instance's place in a replica set, as Coffer records it in guestDir (the truth), and what a
 * start renders from it into postgresql.conf and the data folder: standby.signal and
 * primary_conninfo for a replica, standby.signal alone for a fenced old source, and
 * synchronous_standby_names for a synchronous source. Kept in guestDir, not only on the volume,
 * because a tenant's superuser can run programs as the engine's account (COPY ... TO PROGRAM works
 * on a hot standby too): deleting standby.signal by hand never survives a start.
 */
import { statfs, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import { writeFileAtomic } from '../common/files.js'
import { readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import { confString } from './config.js'

/** Where a replica streams from (the password is the replication account's, kept root-only here). */
export interface FollowedSource {
  readonly instanceId: string
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
}

export interface ReplicationRecord {
  /** `source`: writable; `replica`: a hot standby of `source`; `fenced`: a hot standby of nobody. */
  readonly role: 'source' | 'replica' | 'fenced'
  readonly source?: FollowedSource
  /** A source: instance ids of which one must have a commit before it is acknowledged; absent or empty: async. */
  readonly synchronous?: readonly string[]
  /** The last time pg_rewind threw away WAL this instance wrote and its new source never had. */
  readonly rewound?: { readonly at: string; readonly divergedAt: string; readonly output: string }
}

const RECORD = 'postgresql-replication'

/** The instance's record; undefined for an instance never in a replica set (a plain source). */
export const readRecord = (ctx: InstanceContext): Promise<ReplicationRecord | undefined> => readSecret<ReplicationRecord>(ctx.guestDir, RECORD)

export const writeRecord = (ctx: InstanceContext, record: ReplicationRecord): Promise<void> => writeSecret(ctx.guestDir, RECORD, record)

/** The physical replication slot a replica streams through on its source; one per replica. */
export const slotName = (instanceId: string): string => `coffer_${instanceId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63)

/** A libpq connection-string value, quoted. */
const libpqValue = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/** A name inside synchronous_standby_names, double-quoted; instance ids never hold a quote. */
function standbyName(id: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new CofferError('ENGINE_CONFIG_INVALID', `not an instance id: ${JSON.stringify(id)}`, { retryable: false })
  return `"${id}"`
}

/**
 * The replica's connection to its source. `application_name` is this instance's id, so the
 * source's synchronous_standby_names and pg_stat_replication name replicas by instance id.
 */
export function primaryConninfo(ctx: InstanceContext, source: FollowedSource): string {
  const fields: [string, string][] = [
    ['host', source.host],
    ['port', String(source.port)],
    ['user', source.user],
    ['password', source.password],
    ['application_name', ctx.instanceId],
    ['connect_timeout', '5'],
  ]
  return fields.map(([k, v]) => `${k}=${libpqValue(v)}`).join(' ')
}

/**
 * WAL a source keeps for replication slots whose replica stopped reading: a quarter of the volume.
 * Slots mean a replica that is briefly away never needs a new seed; this bound means a replica that
 * is gone for good cannot fill the source's volume (past it, its slot is invalidated and it must be
 * seeded again).
 */
async function slotWalBound(ctx: InstanceContext): Promise<string> {
  const fs = await statfs(ctx.volumeDir).catch(() => undefined)
  const mb = fs ? Math.floor((fs.blocks * fs.bsize) / 4 / 1024 / 1024) : 1024
  return `${Math.max(64, mb)}MB`
}

/**
 * The lines a start appends to postgresql.conf, and standby.signal made or removed to match the
 * record. An instance without a record is left as it is (no signal made or removed).
 */
export async function renderReplication(ctx: InstanceContext, dataDir: string): Promise<string> {
  const record = await readRecord(ctx)
  const settings: [string, string][] = [['max_slot_wal_keep_size', confString(await slotWalBound(ctx))]]
  const signal = join(dataDir, 'standby.signal')
  if (record?.role === 'replica' || record?.role === 'fenced') {
    await writeFileAtomic(signal, '', { mode: 0o600, account: ctx.account })
    if (record.role === 'replica' && record.source) {
      settings.push(['primary_conninfo', confString(primaryConninfo(ctx, record.source))])
      settings.push(['primary_slot_name', confString(slotName(ctx.instanceId))])
    }
    // Reconnect soon after the source restarts or the replica is repointed (default 5 s).
    settings.push(['wal_retrieve_retry_interval', confString('1s')])
  } else if (record?.role === 'source') {
    await unlink(signal).catch(() => undefined)
    await unlink(join(dataDir, 'recovery.signal')).catch(() => undefined)
    const sync = record.synchronous ?? []
    if (sync.length > 0) settings.push(['synchronous_standby_names', confString(`ANY 1 (${sync.map(standbyName).join(', ')})`)])
  }
  return `# Replication (Coffer's replica-set record for this instance).\n${settings.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`
}
