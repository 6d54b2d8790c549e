/**
 * PostgreSQL's root: a `root` superuser role that logs in over TCP with the password a client was
 * given once. Safe to hand out because each instance's engine runs as its own OS account: what a
 * superuser can do as that account (COPY ... TO PROGRAM) reaches this instance's files only.
 */
import type { InstanceContext, RootAdmin } from '../datastore.js'
import { roleExists } from './catalog.js'
import { passwordForServer } from './scram.js'
import { withService } from './service-account.js'

export const ROOT_USER = 'root'

export const postgresqlRoot: RootAdmin = {
  async enable(ctx: InstanceContext, password: string) {
    await withService(ctx, async (c) => {
      const verb = (await roleExists(c, ROOT_USER)) ? 'ALTER' : 'CREATE'
      const secret = c.escapeLiteral(await passwordForServer(password))
      await c.query(`${verb} ROLE ${c.escapeIdentifier(ROOT_USER)} WITH SUPERUSER LOGIN PASSWORD ${secret}`)
    })
    return { name: ROOT_USER }
  },

  async disable(ctx: InstanceContext) {
    await withService(ctx, async (c) => {
      if (!(await roleExists(c, ROOT_USER))) return
      const root = c.escapeIdentifier(ROOT_USER)
      // NOLOGIN and no password: the role (and what it owns) stays, nobody can log in as it.
      await c.query(`ALTER ROLE ${root} WITH NOSUPERUSER NOLOGIN PASSWORD NULL`)
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [ROOT_USER])
    })
  },
}
