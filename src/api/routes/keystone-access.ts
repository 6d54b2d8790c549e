/** Who may make a `/v3` identity call, and the query filters those calls share. */
import type { FastifyRequest } from 'fastify'
import { Forbidden } from '../../core/errors.js'
import { requireAdmin } from '../auth.js'

export const adminOnly = (req: FastifyRequest): void => requireAdmin(req)

/** Keystone's `admin_required or owner`: the user itself, or the cloud admin. */
export const selfOrAdmin = (req: FastifyRequest, userId: string): void => {
  if (req.principal.userId !== userId && !req.principal.cloudAdmin) throw new Forbidden('You are not authorized to perform the requested action: this needs the admin role on the admin project, or to be that user.')
}

/** The query string's value, as one string. */
export const queryParam = (req: FastifyRequest, name: string): string | undefined => {
  const v = (req.query as Record<string, string | string[] | undefined>)[name]
  return Array.isArray(v) ? v[0] : v
}

/** Filters that name another domain, or domains themselves, match nothing: there is only `default`. */
export const otherDomain = (req: FastifyRequest): boolean => {
  const d = queryParam(req, 'domain_id')
  return (d !== undefined && d !== 'default') || queryParam(req, 'is_domain') === 'true'
}
