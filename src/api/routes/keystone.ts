/**
 * The Keystone v3 subset Trove's clients need: version discovery, password login scoped to a
 * project, and token validation. The catalog points the `database` service (and `workflowv2`,
 * Mistral's API subset for troveclient's schedules) at this same server.
 * Failed logins are throttled (identity/login-throttle.ts); a token is validated or revoked only by
 * its own user or the cloud admin (Keystone's `service_admin_or_token_subject`).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { apiUrl, type Settings } from '../../config.js'
import { Forbidden, Unauthorized } from '../../core/errors.js'
import { issueToken, revokeToken, validateToken, type Principal } from '../../identity/identity.js'
import { LoginThrottle } from '../../identity/login-throttle.js'
import type { Db } from '../../store/schema.js'
import { header } from '../auth.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'

const named = z.object({ id: z.string().optional(), name: z.string().optional(), domain: z.object({ id: z.string().optional(), name: z.string().optional() }).optional() })
const AuthBody = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()).refine((m) => m.includes('password'), 'only the password method is supported'),
      password: z.object({ user: named.extend({ password: z.string() }) }),
    }),
    scope: z.object({ project: named }).optional(),
  }),
})

const DOMAIN = { id: 'default', name: 'Default' }

function tokenBody(base: string, p: Principal) {
  const url = `${base}/v1.0/${p.projectId}`
  return {
    token: {
      methods: ['password'],
      user: { id: p.userId, name: p.userName, domain: DOMAIN, password_expires_at: null },
      project: { id: p.projectId, name: p.projectName, domain: DOMAIN },
      roles: p.roles.map((r) => ({ id: r, name: r })),
      is_domain: false,
      catalog: [
        {
          type: 'database',
          name: 'trove',
          id: 'trove',
          endpoints: ['public', 'internal', 'admin'].map((iface) => ({ id: `trove-${iface}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne', url })),
        },
        {
          // Mistral's API subset for troveclient's schedule-* commands (routes/mistral.ts).
          type: 'workflowv2',
          name: 'mistral',
          id: 'mistral',
          endpoints: ['public', 'internal', 'admin'].map((iface) => ({ id: `mistral-${iface}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne', url: `${base}/v2` })),
        },
        {
          type: 'identity',
          name: 'keystone',
          id: 'keystone',
          endpoints: ['public', 'internal', 'admin'].map((iface) => ({ id: `keystone-${iface}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne', url: `${base}/v3` })),
        },
      ],
      issued_at: p.issuedAt,
      expires_at: p.expiresAt,
      audit_ids: [],
    },
  }
}

const identityVersion = (base: string) => ({
  id: 'v3.14',
  status: 'stable',
  updated: '2020-04-07T00:00:00Z',
  links: [{ rel: 'self', href: `${base}/v3/` }],
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
})

export function keystoneRoutes(app: FastifyInstance, db: Db, settings: Settings): void {
  // Links use the address the client reached; with no Host header, the configured one.
  const base = (req: FastifyRequest) => (req.headers.host ? baseUrl(req) : apiUrl(settings))
  app.get('/v3', async (req) => ({ version: identityVersion(base(req)) }))
  app.get('/v3/', async (req) => ({ version: identityVersion(base(req)) }))

  const throttle = new LoginThrottle(settings.loginThrottle)
  app.post('/v3/auth/tokens', async (req, reply) => {
    const body = parseBody(AuthBody, req.body)
    const { user } = body.auth.identity.password
    const scope = body.auth.scope?.project
    const project = scope?.id ? { id: scope.id } : scope?.name ? { name: scope.name } : undefined
    const userName = user.name ?? ''
    const admission = throttle.admit(userName, req.ip)
    if (!admission.go) {
      const seconds = Math.ceil(admission.retryAfterMs / 1000)
      void reply.header('Retry-After', String(seconds))
      throw new Unauthorized(`Too many failed logins; try again in ${seconds} seconds.`)
    }
    if (admission.delayMs > 0) await sleep(admission.delayMs)
    try {
      const { token, principal } = await issueToken(db, { userName, password: user.password, ...(project ? { project } : {}) }, settings.tokenTtlMs, settings.adminProject)
      throttle.succeeded(userName)
      return await reply.code(201).header('X-Subject-Token', token).send(tokenBody(base(req), principal))
    } catch (err) {
      if (err instanceof Unauthorized) throttle.failed(userName, req.ip)
      throw err
    }
  })

  /** The subject token's principal, when the caller may see it: its own user, or the cloud admin. */
  const subjectOf = async (req: FastifyRequest): Promise<Principal> => {
    const caller = await validateToken(db, header(req, 'x-auth-token'), settings.adminProject)
    const subject = await validateToken(db, header(req, 'x-subject-token'), settings.adminProject)
    if (subject.userId !== caller.userId && !caller.cloudAdmin) throw new Forbidden('You are not authorized to perform the requested action: identity:validate_token.')
    return subject
  }

  // Logout: the subject token stops working at once.
  app.delete('/v3/auth/tokens', async (req, reply) => {
    await subjectOf(req)
    await revokeToken(db, header(req, 'x-subject-token') ?? '')
    return reply.code(204).send()
  })

  app.get('/v3/auth/tokens', async (req, reply) => {
    const subject = await subjectOf(req)
    return reply.header('X-Subject-Token', header(req, 'x-subject-token')).send(tokenBody(base(req), subject))
  })
}
