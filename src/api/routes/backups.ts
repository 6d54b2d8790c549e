/**
 * Trove's backups: `POST/GET /backups`, `GET/DELETE /backups/{id}`, `GET /instances/{id}/backups`,
 * and `GET /backup_strategies`. Coffer's extra: `POST /backups/{id}/action {"verify": {}}`, a restore
 * drill. Backups outlive their instance; a project sees only its own (the cloud admin, any).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { BadRequest, NotFound } from '../../core/errors.js'
import { findVersionById, listDatastores, manifestOf } from '../../store/repos/datastores.js'
import * as backups from '../../store/repos/backups.js'
import { findClientInstance } from '../../store/repos/instances.js'
import type { BackupRow } from '../../store/schema.js'
import { requestBackup, requestBackupDelete, requestBackupVerify } from '../../tasks/backup-requests.js'
import { projectScope } from '../auth.js'
import type { ApiContext } from '../context.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'
import { backupView } from '../views/backup.js'
import { defaultQuotas } from './quotas.js'

type P = { Params: { projectId: string; backupId: string; instanceId: string }; Querystring: { limit?: string; marker?: string; instance_id?: string; datastore?: string; all_projects?: string } }

const CreateBody = z.object({
  backup: z.object(
    {
      name: z.string({ error: 'is required' }),
      instance: z.string({ error: 'is required (the id of the instance to back up)' }),
      description: z.string().nullish(),
      parent_id: z.string().nullish(),
      incremental: z.union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'true', 'false'])]).optional(),
      swift_container: z.string().nullish(),
      storage_driver: z.string().nullish(),
    },
    { error: 'is required: {"backup": {"name": ..., "instance": ...}}' },
  ),
})

const truthy = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true'

export function backupRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx
  const datastoreOf = async (versionId: string) => {
    const v = await findVersionById(db, versionId)
    const ds = v && (await db.selectFrom('datastores').select('name').where('id', '=', v.datastore_id).executeTakeFirst())
    return { type: ds?.name ?? 'unknown', version: v?.name ?? 'unknown', version_id: versionId }
  }
  const view = async (_req: FastifyRequest, b: BackupRow) =>
    backupView(b, { datastore: await datastoreOf(b.datastore_version_id), store: ctx.backupStore, progress: backups.RUNNING_BACKUP.includes(b.status) ? ctx.progress.of('backup', b.id) : undefined })
  const load = async (req: FastifyRequest<P>): Promise<BackupRow> => {
    const b = await backups.findBackup(db, req.params.backupId, projectScope(req))
    if (!b) throw new NotFound(`Resource ${req.params.backupId} cannot be found.`)
    return b
  }
  const page = async (req: FastifyRequest<P>, filter: { projectId?: string | undefined; instanceId?: string | undefined }, path: string) => {
    const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit)
    if (!Number.isInteger(limit) || limit < 1) throw new BadRequest(`limit must be a positive whole number, not '${req.query.limit}'.`)
    const rows = await backups.listBackups(db, filter, { limit: limit + 1, ...(req.query.marker ? { marker: req.query.marker } : {}) })
    const wanted = req.query.datastore
    const shown = rows.slice(0, limit)
    const views = await Promise.all(shown.map((b) => view(req, b)))
    const last = shown.at(-1)
    return {
      backups: wanted ? views.filter((v) => v.datastore.type === wanted || v.datastore.version_id === wanted) : views,
      ...(rows.length > limit && last ? { links: [{ rel: 'next', href: `${baseUrl(req)}/v1.0/${req.params.projectId}/${path}?limit=${limit}&marker=${last.id}` }] } : {}),
    }
  }

  app.post<P>('/v1.0/:projectId/backups', async (req, reply) => {
    const { backup: b } = parseBody(CreateBody, req.body)
    const row = await requestBackup(
      db,
      { keys: ctx.backupKeys, quotaDefaults: defaultQuotas(ctx.settings) },
      {
        projectId: req.params.projectId,
        anyProject: req.principal.cloudAdmin,
        instanceId: b.instance,
        name: b.name,
        description: b.description ?? undefined,
        parentId: b.parent_id ?? undefined,
        incremental: truthy(b.incremental),
      },
    )
    ctx.kickTasks()
    return reply.code(202).send({ backup: await view(req, row) })
  })

  app.get<P>('/v1.0/:projectId/backups', async (req) => {
    const all = req.principal.cloudAdmin && truthy(req.query.all_projects)
    return page(req, { projectId: all ? undefined : req.params.projectId, instanceId: req.query.instance_id }, 'backups')
  })

  app.get<P>('/v1.0/:projectId/backups/:backupId', async (req) => ({ backup: await view(req, await load(req)) }))

  app.delete<P>('/v1.0/:projectId/backups/:backupId', async (req, reply) => {
    await requestBackupDelete(db, await load(req))
    ctx.kickTasks()
    return reply.code(202).send()
  })

  app.post<P>('/v1.0/:projectId/backups/:backupId/action', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    if (Object.keys(body).length !== 1 || !('verify' in body)) throw new BadRequest('The one backup action is {"verify": {}}: a restore drill.')
    await requestBackupVerify(db, await load(req))
    ctx.kickTasks()
    return reply.code(202).send()
  })

  // The backups of an instance, which may be gone: its backups are still the project's.
  app.get<P>('/v1.0/:projectId/instances/:instanceId/backups', async (req) => {
    const scope = projectScope(req)
    const alive = await findClientInstance(db, req.params.instanceId, scope)
    if (!alive && (await backups.listBackups(db, { projectId: scope, instanceId: req.params.instanceId }, { limit: 1 })).length === 0) {
      throw new NotFound(`Resource ${req.params.instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
    }
    return page(req, { projectId: scope, instanceId: req.params.instanceId }, `instances/${req.params.instanceId}/backups`)
  })

  // Trove's shape (one entry per place backups go), with Coffer's: what each datastore's strategy can do.
  app.get<P>('/v1.0/:projectId/backup_strategies', async (req) => ({
    backup_strategies: (await listDatastores(db)).flatMap((ds) =>
      ds.versions.map((v) => {
        const m = manifestOf(v)
        return {
          backend: ctx.backupStore.kind,
          instance_id: null,
          project_id: req.params.projectId,
          swift_container: ctx.backupStore.bucket ?? null,
          datastore: ds.name,
          datastore_version: v.name,
          strategy: m.backupStrategy ?? null,
          full: m.capabilities.backup,
          incremental: m.capabilities.incremental_backup,
          point_in_time: m.capabilities.point_in_time_restore === true,
        }
      }),
    ),
  }))
}
