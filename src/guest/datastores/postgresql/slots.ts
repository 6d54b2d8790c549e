/**
 * Physical replication slots, one per replica on its source, so that a source never recycles WAL
 * a replica still needs (a replica away for a while catches up instead of needing a new seed). A
 * dead replica's slot would keep WAL for ever: standby.ts bounds that with max_slot_wal_keep_size.
 */
import pg from 'pg'
import type { PgClient } from './client.js'
import type { Login } from './pg-tool.js'

/**
 * Makes the slot `name` on the source `login` reaches, unless it is there; it keeps WAL from now
 * on. Resolves with the source's current timeline (IDENTIFY_SYSTEM: live, unlike its control file,
 * which a promoted source updates only at its next checkpoint).
 */
export async function ensureSlot(login: Login, name: string): Promise<number> {
  // A physical replication connection (the walsender protocol, where CREATE_REPLICATION_SLOT lives).
  const c = new pg.Client({ ...login, database: 'replication', replication: 'true', application_name: 'coffer', connectionTimeoutMillis: 10_000 } as pg.ClientConfig)
  c.on('error', () => undefined)
  await c.connect()
  try {
    await c.query(`CREATE_REPLICATION_SLOT ${c.escapeIdentifier(name)} PHYSICAL RESERVE_WAL`).catch((err: unknown) => {
      // 42710 duplicate_object: made by an earlier attempt.
      if ((err as { code?: string }).code !== '42710') throw err
    })
    const timeline = Number((await c.query<{ timeline: string }>('IDENTIFY_SYSTEM')).rows[0]?.timeline)
    if (!Number.isInteger(timeline) || timeline < 1) throw new Error('IDENTIFY_SYSTEM gave no timeline')
    return timeline
  } finally {
    await c.end().catch(() => undefined)
  }
}

/**
 * Drops the slots nobody streams through: on an instance that has just become a replica, those it
 * kept for replicas while it was a source (they now follow someone else).
 */
export async function dropIdleSlots(c: PgClient): Promise<void> {
  await c.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active AND slot_type = 'physical'")
}

/**
 * An immediate checkpoint on the source (the replication account has pg_checkpoint): a source
 * promoted moments ago records its new timeline in its control file only at its next checkpoint,
 * and pg_rewind reads that file; before it, pg_rewind would see one timeline and rewind nothing.
 */
export async function checkpointSource(login: Login): Promise<void> {
  const c = new pg.Client({ ...login, database: 'postgres', application_name: 'coffer', connectionTimeoutMillis: 10_000 })
  c.on('error', () => undefined)
  await c.connect()
  try {
    await c.query('CHECKPOINT')
  } finally {
    await c.end().catch(() => undefined)
  }
}
