/**
 * An instance's replication role as Coffer last set it, kept in guestDir (Coffer's, root only), and
 * what it adds to my.cnf at every start: a replica or a fenced source starts read-only, so a restart
 * (or a crash and a restart) never makes it writable; a synchronous source starts waiting for its
 * replicas' acknowledgements again. The engine keeps the rest itself: whom a replica follows
 * (CHANGE MASTER, in master.info on the volume) and its position (mysql.gtid_slave_pos).
 */
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../common/files.js'
import type { InstanceContext } from '../datastore.js'

export interface ReplicationRole {
  /** `source` (the default: no record) takes writes; `replica` follows a source; `fenced` follows nobody. Both of the latter are read-only. */
  readonly role: 'source' | 'replica' | 'fenced'
  /** A source: the replicas whose acknowledgement a commit waits for (semi-synchronous); none: asynchronous. */
  readonly synchronous?: readonly string[]
}

/**
 * How long a semi-synchronous source waits for an acknowledgement before it would fall back to
 * asynchronous commits, in milliseconds: about 49 days, i.e. never, as PostgreSQL's
 * synchronous_standby_names. A commit then waits while no replica has it: no acknowledged write
 * exists only on the source.
 */
export const SEMI_SYNC_TIMEOUT_MS = 4_294_967_295

const rolePath = (ctx: InstanceContext): string => join(ctx.guestDir, 'mariadb-replication-role.json')

export async function readRole(ctx: InstanceContext): Promise<ReplicationRole> {
  try {
    const saved = JSON.parse(await readFile(rolePath(ctx), 'utf8')) as ReplicationRole
    return ['source', 'replica', 'fenced'].includes(saved.role) ? saved : { role: 'fenced' }
  } catch (err) {
    // A record that cannot be read is never taken for a writable source.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { role: 'source' } : { role: 'fenced' }
  }
}

export async function writeRole(ctx: InstanceContext, role: ReplicationRole): Promise<void> {
  await writeFileAtomic(rolePath(ctx), JSON.stringify(role), { mode: 0o600, durable: true })
}

/** The my.cnf lines of the role (none for an asynchronous source: every instance before replication). */
export async function replicationCnf(ctx: InstanceContext): Promise<[string, string][]> {
  const { role, synchronous = [] } = await readRole(ctx)
  if (role !== 'source') return [['read_only', 'ON']]
  if (synchronous.length === 0) return []
  return [
    ['rpl_semi_sync_master_enabled', 'ON'],
    ['rpl_semi_sync_master_timeout', String(SEMI_SYNC_TIMEOUT_MS)],
    ['rpl_semi_sync_master_wait_no_slave', 'ON'],
    // The commit becomes visible to others only once a replica has it (lossless semi-sync).
    ['rpl_semi_sync_master_wait_point', 'AFTER_SYNC'],
  ]
}
