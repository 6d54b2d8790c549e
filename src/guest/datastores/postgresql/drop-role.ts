/**
 * Dropping a role without losing data: whatever it still owns passes to the owner role of the
 * database it is in (see access.ts), or to the service account where the database has none.
 */
import type { InstanceContext } from '../datastore.js'
import { ownerRoleOf } from './access.js'
import { roleExists } from './catalog.js'
import type { PgClient } from './client.js'
import { SERVICE_USER } from './manifest.js'
import { withService } from './service-account.js'

/** SQLSTATE dependent_objects_still_exist: the role owns or holds something somewhere. */
const HAS_DEPENDENTS = '2BP01'

/** Who takes over what `role` owns in `database`. */
async function heirIn(c: PgClient, database: string, role: string): Promise<string> {
  const owner = ownerRoleOf(database)
  return owner !== role && (await roleExists(c, owner)) ? owner : SERVICE_USER
}

/**
 * Drops `role` (no error when it is gone). When it still owns or holds anything, that is handed
 * over or revoked in every database first, one connection each. `c` is the service account.
 */
export async function dropRole(ctx: InstanceContext, c: PgClient, role: string): Promise<void> {
  const drop = `DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`
  try {
    await c.query(drop)
    return
  } catch (err) {
    if ((err as { code?: unknown }).code !== HAS_DEPENDENTS) throw err
  }
  const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')
  for (const { datname } of rows) {
    const heir = await heirIn(c, datname, role)
    await withService(ctx, async (d) => {
      const r = d.escapeIdentifier(role)
      await d.query(`REASSIGN OWNED BY ${r} TO ${d.escapeIdentifier(heir)}`)
      // What is left are privileges granted to the role; they go with it.
      await d.query(`DROP OWNED BY ${r}`)
    }, datname)
  }
  await c.query(drop)
}
