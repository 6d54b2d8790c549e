import type { FastifyReply, FastifyRequest } from 'fastify'
import { Forbidden, Unauthorized } from '../core/errors.js'
import { validateToken, type Principal } from '../identity/identity.js'
import { canRead, canWrite } from '../identity/roles.js'
import type { Db } from '../store/schema.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
  }
}

const READS = new Set(['GET', 'HEAD'])

/**
 * Every `/v1.0/{project_id}/...` and `/v3` admin call needs a token (Trove's
 * AuthorizationMiddleware), and the policy is applied here for all routes at once: a token reaches
 * its own project, `reader` only reads, `/mgmt/` routes are the cloud admin's, and only the cloud
 * admin reaches other projects. Routes that write admin-owned things (flavors, /v3) add
 * requireAdmin.
 */
export const requireToken = (db: Db, adminProject: string) => async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
  const principal = await validateToken(db, header(req, 'x-auth-token'), adminProject)
  // Every role was taken away since the token was issued.
  if (!canRead(principal.roles)) throw new Unauthorized()
  const projectId = (req.params as { projectId?: string }).projectId
  if (projectId !== undefined && projectId !== principal.projectId && !principal.cloudAdmin) {
    throw new Forbidden(`User with tenant id ${principal.projectId} cannot access this resource.`)
  }
  if (!READS.has(req.method) && !canWrite(principal.roles)) throw new Forbidden(`Role reader may only read; ${req.method} needs the member or admin role.`)
  req.principal = principal
  if (req.routeOptions.url?.includes('/mgmt/')) requireAdmin(req)
}

export const requireAdmin = (req: FastifyRequest): void => {
  if (!req.principal.cloudAdmin) throw new Forbidden('This action needs the admin role on the admin project.')
}

/**
 * The project an instance is looked up in by id: the URL's, or any for the cloud admin, who acts on
 * any project's instance through its own project's URL as Trove's admin context does (never a spare: repos/instances.ts findClientInstance).
 */
export const projectScope = (req: FastifyRequest): string | undefined =>
  req.principal.cloudAdmin ? undefined : (req.params as { projectId: string }).projectId

export const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}
