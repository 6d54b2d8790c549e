/**
 * The replication account `coffer_repl`@`%` (REPLICATION SLAVE and REPLICATION CLIENT only) and
 * where a replica is told to follow its source.
 *
 * The account is an ordinary, replicated account: made on the source with the binary log on, it
 * reaches every replica (through the seed's copy and through replication), so a promoted replica
 * already has it for the others. Its password is kept in guestDir (Coffer's, root only): made once
 * on a source, and on a replica the one its source gave (seed, follow), so that prepareSource on a
 * promoted replica finds the account as it is and changes nothing. The account logs in from any
 * address, allowed_cidrs or not (access.ts), only with that password.
 */
import type { RowDataPacket } from 'mysql2/promise'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import type { ReplicationSource } from '../replication.js'
import { account, identifiedBy, type MysqlClient, nativePasswordHash } from './client.js'
import { REPLICATION_USER } from './manifest.js'
import { withoutReadOnlyAdmin } from './root.js'
import { withService } from './service-account.js'

interface Credentials {
  readonly user: string
  readonly password: string
}

const SECRET = 'mariadb-replication'
const REPL = account(REPLICATION_USER, '%')

/** The account this instance made (a source) or was last given (a replica). */
export const savedCredentials = (ctx: InstanceContext): Promise<Credentials | undefined> => readSecret<Credentials>(ctx.guestDir, SECRET)

/** Keeps the account a replica was given, for when it is promoted. */
export const saveCredentials = (ctx: InstanceContext, source: Pick<ReplicationSource, 'user' | 'password'>): Promise<void> =>
  writeSecret(ctx.guestDir, SECRET, { user: source.user, password: source.password })

/** ReplicationAdmin.prepareSource: the account (made or fixed, idempotently), and root without READ_ONLY ADMIN. */
export async function prepareSource(ctx: InstanceContext): Promise<Credentials> {
  let saved = await savedCredentials(ctx)
  if (saved?.user !== REPLICATION_USER || !saved.password) {
    saved = { user: REPLICATION_USER, password: newPassword() }
    await writeSecret(ctx.guestDir, SECRET, saved)
  }
  const { password } = saved
  await withService(ctx, async (c) => {
    const [[flags]] = await c.query<(RowDataPacket & { ro: number })[]>('SELECT @@GLOBAL.read_only AS ro')
    // Read-only (a replica, a fenced source): a change here is this instance's own, with no GTID
    // that its source never had, which would stop it following (gtid_strict_mode).
    if (Number(flags?.ro)) await c.query('SET SESSION sql_log_bin = 0')
    const [rows] = await c.query<(RowDataPacket & { auth: string; slave: string; client: string })[]>(
      `SELECT authentication_string AS auth, Repl_slave_priv AS slave, Repl_client_priv AS client FROM mysql.user WHERE User = ? AND Host = '%'`,
      [REPLICATION_USER],
    )
    const row = rows[0]
    // Each statement is logged (and replicated) only when something changes: prepareSource again writes nothing.
    if (!row) await c.query(`CREATE USER ${REPL} ${await identifiedBy(c, password)}`)
    else if (row.auth !== nativePasswordHash(password)) await c.query(`ALTER USER ${REPL} ${await identifiedBy(c, password)} ACCOUNT UNLOCK`)
    if (row?.slave !== 'Y' || row.client !== 'Y') await c.query(`GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ${REPL}`)
    // A root enabled before replication existed still holds READ_ONLY ADMIN.
    await withoutReadOnlyAdmin(c)
  })
  return { user: REPLICATION_USER, password }
}

/**
 * Points the (stopped) replica threads at `source` by GTID. `demote`: an old source rejoining; its
 * own binary log's transactions count as replayed (MASTER_DEMOTE_TO_SLAVE), so the new source
 * refuses it if it has any the new source lacks. Retries a lost connection every second and hears
 * from an idle source every second (slave_net_timeout is 10 s: config.ts). The engine keeps this
 * in master.info on the volume, password included: the engine's account (the tenant) may read it,
 * and it opens nothing but the tenant's own change stream.
 */
export async function changeMaster(c: MysqlClient, source: ReplicationSource, demote: boolean): Promise<void> {
  await c.query(
    `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos,
       MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1${demote ? ', MASTER_DEMOTE_TO_SLAVE = 1' : ''}`,
    [source.host, source.port, source.user, source.password],
  )
}
