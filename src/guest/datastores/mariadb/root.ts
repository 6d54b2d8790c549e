/**
 * Trove's root for MariaDB: `root`@`%`, a superuser over the network, off until a client enables
 * it. It is a separate account from `root`@`localhost`, which stays locked with a password nobody
 * knows, and from Coffer's own service account (see service-account.ts).
 */
import type { InstanceContext, RootAdmin } from '../datastore.js'
import { account, identifiedBy } from './client.js'
import { withService } from './service-account.js'
import { killSessions } from './users.js'

const ROOT = account('root', '%')

/** Root: enabling again resets the password; disabling removes the account. */
export const mariadbRoot: RootAdmin = {
  async enable(ctx: InstanceContext, password: string): Promise<{ name: string }> {
    await withService(ctx, async (c) => {
      await c.query(`CREATE USER IF NOT EXISTS ${ROOT} ${await identifiedBy(c, password)}`)
      // Also for an existing account: the password given now is the one that must work.
      await c.query(`ALTER USER ${ROOT} ${await identifiedBy(c, password)} ACCOUNT UNLOCK`)
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ${ROOT} WITH GRANT OPTION`)
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
