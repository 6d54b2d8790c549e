import type { FastifyReply, FastifyRequest } from 'fastify'
import { Forbidden } from '../core/errors.js'
import { isAdmin, validateToken, type Principal } from '../identity/identity.js'
import type { Db } from '../store/schema.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
  }
}

/**
 * Every `/v1.0/{project_id}/...` call needs a token of that project (Trove's
 * AuthorizationMiddleware); admins may act in any project.
 */
export const requireToken = (db: Db) => async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
  const principal = await validateToken(db, header(req, 'x-auth-token'))
  const projectId = (req.params as { projectId?: string }).projectId
  if (projectId !== undefined && projectId !== principal.projectId && !isAdmin(principal)) {
    throw new Forbidden(`User with tenant id ${principal.projectId} cannot access this resource.`)
  }
  req.principal = principal
}

export const requireAdmin = (req: FastifyRequest): void => {
  if (!isAdmin(req.principal)) throw new Forbidden('This action needs the admin role.')
}

export const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}
