/**
 * The HTTP API: Trove v1.0 routes and the Keystone v3 subset on one Fastify server.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { BadRequest, NotFound } from '../core/errors.js'
import { requireToken } from './auth.js'
import type { ApiContext } from './context.js'
import { logMutations } from './mutation-log.js'
import type { Log } from '../logger.js'
import { faultFor, frameworkFault, keystoneError, MAX_PARAM_LENGTH, type FaultReply } from './errors.js'
import { backupRoutes } from './routes/backups.js'
import { configurationRoutes } from './routes/configurations.js'
import { databaseRoutes } from './routes/databases.js'
import { datastoreRoutes } from './routes/datastores.js'
import { flavorRoutes } from './routes/flavors.js'
import { instanceRoutes } from './routes/instances.js'
import { keystoneAdminRoutes } from './routes/keystone-admin.js'
import { keystoneRoutes } from './routes/keystone.js'
import { limitRoutes } from './routes/limits.js'
import { logRoutes } from './routes/logs.js'
import { mistralRoutes } from './routes/mistral.js'
import { notBuiltRoutes } from './routes/not-built.js'
import { parameterRoutes } from './routes/parameters.js'
import { quotaRoutes } from './routes/quotas.js'
import { rootRoutes } from './routes/root.js'
import { scheduleRoutes } from './routes/schedules.js'
import { shutdownRoutes } from './routes/shutdown.js'
import { spareRoutes } from './routes/spares.js'
import { nodeRoutes } from './routes/nodes.js'
import { userRoutes } from './routes/users.js'
import { versionRoutes } from './routes/versions.js'

/** Trove's bodies are small; anything larger is a mistake or an attack. */
const BODY_LIMIT = 256 * 1024

export function buildApi(ctx: ApiContext, log: (msg: string, err?: unknown) => void, audit?: Log): FastifyInstance {
  const reply = (f: FaultReply, url: string, r: FastifyReply) => void r.code(f.status).send(url.startsWith('/v3') ? keystoneError(f) : f.body)
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    logger: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify answers these itself, in its own shape, unless told otherwise.
    frameworkErrors: (err, req, res) => reply(frameworkFault(err, log), req.url, res),
  })

  // Clients send `Content-Type: application/json` on bodiless DELETEs too: an empty body is no body.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    const s = String(text)
    if (s.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(s))
    } catch (err) {
      done(new BadRequest(`Malformed request body: ${(err as Error).message}`, 'MALFORMED_BODY'), undefined)
    }
  })

  app.setErrorHandler((err, req, res) => reply(frameworkFault(err, log), req.url, res))
  app.setNotFoundHandler((req, reply) => {
    const f = faultFor(new NotFound(`The resource could not be found: ${req.method} ${req.url.split('?')[0]}`), log)
    void reply.code(f.status).send(f.body)
  })

  if (audit) logMutations(app, audit)
  versionRoutes(app)
  keystoneRoutes(app, ctx.db, ctx.settings)
  keystoneAdminRoutes(app, ctx.db, ctx.settings.adminProject)
  mistralRoutes(app, ctx.db, ctx.settings.adminProject, log)
  void app.register(async (v1) => {
    v1.addHook('preHandler', requireToken(ctx.db, ctx.settings.adminProject))
    flavorRoutes(v1, ctx)
    datastoreRoutes(v1, ctx.db)
    instanceRoutes(v1, ctx)
    databaseRoutes(v1, ctx)
    userRoutes(v1, ctx)
    rootRoutes(v1, ctx)
    logRoutes(v1, ctx)
    configurationRoutes(v1, ctx)
    backupRoutes(v1, ctx)
    scheduleRoutes(v1, ctx.db)
    parameterRoutes(v1, ctx)
    limitRoutes(v1, ctx.db, ctx.settings)
    quotaRoutes(v1, ctx.db, ctx.settings)
    spareRoutes(v1, ctx)
    nodeRoutes(v1, ctx)
    shutdownRoutes(v1, ctx)
    notBuiltRoutes(v1)
  })
  return app
}
