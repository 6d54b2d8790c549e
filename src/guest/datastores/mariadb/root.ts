/**
 * Trove's root for MariaDB: `root`@`%`, a superuser over the network (all privileges but READ_ONLY
 * ADMIN, so that a replica's read_only holds it too), off until a client enables it. It is a
 * separate account from `root`@`localhost`, which stays locked with a password nobody knows, and
 * from Coffer's own service account (see service-account.ts).
 */
import type { RowDataPacket } from 'mysql2/promise'
import type { InstanceContext, RootAdmin } from '../datastore.js'
import { account, identifiedBy, type MysqlClient } from './client.js'
import { withService } from './service-account.js'
import { accountExists, killSessions } from './users.js'

const ROOT = account('root', '%')

/**
 * Takes READ_ONLY ADMIN (part of ALL PRIVILEGES) from root, if root exists: with it root could
 * write on a read-only replica and turn read_only off. Without it, and without GRANT OPTION on what
 * it lacks, root can give it to nobody. Replicates with the grants (replication.ts), so a replica's
 * root is the source's. Sessions opened before keep what they had: a fence ends them.
 */
export async function withoutReadOnlyAdmin(c: MysqlClient): Promise<void> {
  if (!(await accountExists(c, 'root', '%'))) return
  const [rows] = await c.query<RowDataPacket[]>(`SHOW GRANTS FOR ${ROOT}`)
  const holds = rows.some((r) => /^GRANT (ALL PRIVILEGES|.*READ_ONLY ADMIN).* ON \*\.\* /.test(String(Object.values(r)[0])))
  // Only then: a REVOKE is logged and replicated even when it changes nothing.
  if (holds) await c.query(`REVOKE READ_ONLY ADMIN ON *.* FROM ${ROOT}`)
}

/** Root: enabling again resets the password; disabling removes the account. */
export const mariadbRoot: RootAdmin = {
  async enable(ctx: InstanceContext, password: string): Promise<{ name: string }> {
    await withService(ctx, async (c) => {
      await c.query(`CREATE USER IF NOT EXISTS ${ROOT} ${await identifiedBy(c, password)}`)
      // Also for an existing account: the password given now is the one that must work.
      await c.query(`ALTER USER ${ROOT} ${await identifiedBy(c, password)} ACCOUNT UNLOCK`)
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ${ROOT} WITH GRANT OPTION`)
      await withoutReadOnlyAdmin(c)
    })
    return { name: 'root' }
  },

  async disable(ctx: InstanceContext): Promise<void> {
    await withService(ctx, async (c) => {
      await c.query(`DROP USER IF EXISTS ${ROOT}`)
      // A session keeps its privileges after DROP USER; root@localhost is locked, so every root session is the client's.
      await killSessions(c, { user: 'root' })
    })
  },
}
