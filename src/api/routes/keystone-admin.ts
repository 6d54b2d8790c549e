/**
 * The Keystone v3 calls that manage identity, as `openstack project|user|role ...` and OpenStack's
 * test tooling use them: projects, users, roles, role assignments and the one domain. Every call
 * needs a token; all are the cloud admin's except what a user does to itself (show itself, list its
 * projects, change its own password). Unlike `/v1.0`, a `reader` may change its own password.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Unauthorized } from '../../core/errors.js'
import { validateToken } from '../../identity/identity.js'
import { canRead } from '../../identity/roles.js'
import type { Db } from '../../store/schema.js'
import { header } from '../auth.js'
import { keystoneProjectRoutes } from './keystone-projects.js'
import { keystoneRoleRoutes } from './keystone-roles.js'
import { keystoneUserRoutes } from './keystone-users.js'

export function keystoneAdminRoutes(app: FastifyInstance, db: Db, adminProject: string): void {
  void app.register(async (v3) => {
    v3.addHook('preHandler', async (req: FastifyRequest, _reply: FastifyReply) => {
      const principal = await validateToken(db, header(req, 'x-auth-token'), adminProject)
      if (!canRead(principal.roles)) throw new Unauthorized()
      req.principal = principal
    })
    keystoneProjectRoutes(v3, db, adminProject)
    keystoneUserRoutes(v3, db)
    keystoneRoleRoutes(v3, db)
  })
}
