/**
 * Physical replication slots, one per replica on its source, so that a source never recycles WAL
 * a replica still needs (a replica away for a while catches up instead of needing a new seed). A
 * dead replica's slot would keep WAL for ever: standby.ts bounds that with max_slot_wal_keep_size.
 */
import pg from 'pg'
import type { PgClient } from './client.js'
import type { Login } from './pg-tool.js'

/** Makes the slot `name` on the source `login` reaches, unless it is there; it keeps WAL from now on. */
export async function ensureSlot(login: Login, name: string): Promise<void> {
  // A physical replication connection (the walsender protocol, where CREATE_REPLICATION_SLOT lives).
  const c = new pg.Client({ ...login, database: 'replication', replication: 'true', application_name: 'coffer', connectionTimeoutMillis: 10_000 } as pg.ClientConfig)
  c.on('error', () => undefined)
  await c.connect()
  try {
    await c.query(`CREATE_REPLICATION_SLOT ${c.escapeIdentifier(name)} PHYSICAL RESERVE_WAL`)
  } catch (err) {
    // 42710 duplicate_object: made by an earlier attempt.
    if ((err as { code?: string }).code !== '42710') throw err
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
