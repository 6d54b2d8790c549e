/**
 * Redis's root: the ACL user `root` with every command, off (absent) until a client enables it.
 * Like the other users it is kept in the ACL file (ACL SAVE), so it survives restarts.
 */
import type { InstanceContext, RootAdmin } from '../datastore.js'
import { transaction, withService } from './client.js'
import { ROOT_USER } from './manifest.js'
import { checkPassword } from './users.js'

/** Redis's RootAdmin. */
export const redisRoot: RootAdmin = {
  async enable(ctx: InstanceContext, password: string): Promise<{ name: string }> {
    checkPassword(password)
    // `reset` first: enabling again replaces the old password instead of adding a second one.
    await withService(ctx, (c) =>
      transaction(c, [['ACL', 'SETUSER', ROOT_USER, 'reset', 'on', `>${password}`, '~*', '&*', '+@all'], ['ACL', 'SAVE']]),
    )
    return { name: ROOT_USER }
  },

  async disable(ctx: InstanceContext): Promise<void> {
    // Deleting the user also closes its open connections.
    await withService(ctx, (c) => transaction(c, [['ACL', 'DELUSER', ROOT_USER], ['ACL', 'SAVE']]))
  },
}
