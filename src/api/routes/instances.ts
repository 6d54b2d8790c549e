import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadRequest, Forbidden, NotFound, Unprocessable } from '../../core/errors.js'
import { mayConfigure, mayRestart } from '../../core/instance.js'
import { findVersionById } from '../../store/repos/datastores.js'
import { listEvents } from '../../store/repos/events.js'
import * as instances from '../../store/repos/instances.js'
import { transition } from '../../store/repos/transition.js'
import { enqueue, requestDelete } from '../../tasks/queue.js'
import { listNodes } from '../../store/repos/nodes.js'
import type { InstanceRow } from '../../store/schema.js'
import { projectScope, requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'
import { effectiveConfiguration } from '../instance-configuration.js'
import { createInstance } from '../instance-create.js'
import { stopOrStart } from '../instance-power.js'
import { resizeFlavor } from '../instance-resize-flavor.js'
import { resizeVolume } from '../instance-resize-volume.js'
import { updateInstanceAttributes } from '../instance-update.js'
import { baseUrl } from '../links.js'
import { ejectReplicaSource, promoteToReplicaSource } from '../replica-actions.js'
import { restorableWindow } from '../restore-point.js'
import { instanceView, statusInputs } from '../views/instance.js'

type P = { Params: { projectId: string; instanceId: string }; Querystring: { limit?: string; marker?: string } }

export function instanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx
  const datastoreNames = new Map<string, { type: string; version: string; version_number: string }>()
  const datastoreOf = async (versionId: string) => {
    let d = datastoreNames.get(versionId)
    if (!d) {
      const v = await findVersionById(db, versionId)
      const ds = v && (await db.selectFrom('datastores').select('name').where('id', '=', v.datastore_id).executeTakeFirst())
      d = { type: ds?.name ?? 'unknown', version: v?.name ?? 'unknown', version_number: v?.version_number ?? 'unknown' }
      datastoreNames.set(versionId, d)
    }
    return d
  }
  /** The names of the groups these instances have attached, in one query. */
  const groupNames = async (rows: readonly InstanceRow[]): Promise<Map<string, string>> => {
    const ids = [...new Set(rows.flatMap((r) => (r.configuration_id ? [r.configuration_id] : [])))]
    if (ids.length === 0) return new Map()
    const found = await db.selectFrom('configurations').select(['id', 'name']).where('id', 'in', ids).execute()
    return new Map(found.map((g) => [g.id, g.name]))
  }
  const views = async (req: FastifyRequest, rows: readonly InstanceRow[]) => {
    const names = await groupNames(rows)
    // An instance without an address of its own listens on its node's, as the node registered it.
    const nodes = new Map(
      (await listNodes(db)).map((n) => {
        const address = n.addresses[0] ?? ctx.settings.bind
        return [n.name, { address, network: n.pool?.cidr ?? `${address}/32` }]
      }),
    )
    const fallback = { address: ctx.settings.bind, network: `${ctx.settings.bind}/32` }
    const ids = rows.map((r) => r.id)
    const followers = ids.length === 0 ? [] : await db.selectFrom('instances').select(['id', 'replica_of']).where('replica_of', 'in', ids).orderBy('created_at').execute()
    const replicasOf = (id: string) => followers.filter((f) => f.replica_of === id).map((f) => f.id)
    // A set's writer address is on its source's row: a replica shows its source's.
    const sourceIds = [...new Set(rows.flatMap((r) => (r.replica_of ? [r.replica_of] : [])))]
    const sources = sourceIds.length === 0 ? [] : await db.selectFrom('instances').select(['id', 'writer_address', 'writer_port']).where('id', 'in', sourceIds).execute()
    const writerOf = (r: InstanceRow) => {
      const w = r.replica_of ? sources.find((s) => s.id === r.replica_of) : r
      return w?.writer_address && w.writer_port ? { address: w.writer_address, port: Number(w.writer_port) } : undefined
    }
    return Promise.all(
      rows.map(async (r) =>
        instanceView(baseUrl(req), r, { datastore: await datastoreOf(r.datastore_version_id), node: nodes.get(r.node ?? '') ?? fallback, configurationName: r.configuration_id ? names.get(r.configuration_id) : undefined, admin: req.principal.cloudAdmin, replicas: replicasOf(r.id), writer: writerOf(r) }),
      ),
    )
  }
  /**
   * One instance, with Coffer's extra fields a list leaves out: the window it can be restored to a
   * point in time in, and how far a restore building it has got.
   */
  const view = async (req: FastifyRequest, r: InstanceRow) => {
    const [v] = await views(req, [r])
    const restorable = await restorableWindow(db, r.id)
    const progress = r.task_status === 'BUILDING' ? ctx.progress.of('restore', r.id) : undefined
    return { ...v, ...(restorable ? { restorable } : {}), ...(progress ? { restore_progress: progress } : {}) }
  }
  const load = async (req: FastifyRequest<P>) => {
    const r = await instances.findClientInstance(db, req.params.instanceId, projectScope(req))
    if (!r) throw new NotFound(`Resource ${req.params.instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
    return r
  }
  const list = async (req: FastifyRequest<P>) => {
    const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit)
    if (!Number.isInteger(limit) || limit < 1) throw new BadRequest(`limit must be a positive whole number, not '${req.query.limit}'.`)
    const rows = await instances.listInstances(db, req.params.projectId, { limit: limit + 1, ...(req.query.marker ? { marker: req.query.marker } : {}) })
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    const more = rows.length > limit && last
    return {
      instances: await views(req, page),
      ...(more ? { links: [{ rel: 'next', href: `${baseUrl(req)}/v1.0/${req.params.projectId}/instances?limit=${limit}&marker=${last.id}` }] } : {}),
    }
  }

  app.get<P>('/v1.0/:projectId/instances', list)
  app.get<P>('/v1.0/:projectId/instances/detail', list)

  app.post<P>('/v1.0/:projectId/instances', async (req) => ({ instance: await view(req, await createInstance(ctx, req.params.projectId, req.body, projectScope(req))) }))

  app.get<P>('/v1.0/:projectId/instances/:instanceId', async (req) => ({ instance: await view(req, await load(req)) }))

  // Unlike Trove, delete works in every state (BUILD and ERROR too): a stuck instance can always go.
  app.delete<P>('/v1.0/:projectId/instances/:instanceId', async (req, reply) => {
    const r = await load(req)
    // As Trove's ReplicaSourceDeleteForbidden: the replicas would follow nothing.
    // Replicas already on their way out do not hold their source back.
    const replicas = await db.selectFrom('instances').select('id').where('replica_of', '=', r.id).where('task_status', '!=', 'DELETING').execute()
    if (replicas.length > 0) throw new Forbidden(`Instance ${r.id} is the source of replica(s) ${replicas.map((x) => x.id).join(', ')}: detach or delete them first.`)
    if (await db.transaction().execute((trx) => requestDelete(trx, r.id))) ctx.kickTasks()
    return reply.code(202).send()
  })

  // Coffer's extra: what happened to the instance (set operations, automatic failover), newest first.
  app.get<P>('/v1.0/:projectId/instances/:instanceId/events', async (req) => ({ events: await listEvents(db, (await load(req)).id) }))

  app.get<P>('/v1.0/:projectId/instances/:instanceId/configuration', async (req) => {
    const r = await load(req)
    if (!mayConfigure(statusInputs(r))) throw new Unprocessable(`Instance ${r.id} is not ready.`)
    return { instance: { configuration: await effectiveConfiguration(ctx, r) } }
  })

  const update = async (req: FastifyRequest<P>, reply: FastifyReply) => {
    await updateInstanceAttributes(ctx, projectScope(req), req.params.instanceId, req.body)
    return reply.code(202).send()
  }
  app.put<P>('/v1.0/:projectId/instances/:instanceId', update)
  app.patch<P>('/v1.0/:projectId/instances/:instanceId', update)

  app.post<P>('/v1.0/:projectId/instances/:instanceId/action', async (req, reply) => {
    const r = await load(req)
    const body = (req.body ?? {}) as Record<string, unknown>
    const action = Object.keys(body)
    if (action.length !== 1) throw new BadRequest('Name exactly one action, e.g. {"restart": {}}.')
    // Meant for instances that are not ready, so it comes before the readiness check.
    if (action[0] === 'reset_status') {
      requireAdmin(req)
      // A delete under way is not reset: it ends by itself, or fails into ERROR to be deleted again.
      await instances.resetStatus(db, r.id)
      return reply.code(202).send()
    }
    switch (action[0]) {
      case 'restart': {
        // A failed apply or restart leaves the engine as it was: a restart may mend it.
        if (!mayRestart(statusInputs(r))) throw new Unprocessable(`Instance ${r.id} is not ready.`)
        const queued = await db.transaction().execute(async (trx) => {
          if (!(await transition(trx, r.id, 'NONE', 'REBOOTING'))) return false
          await enqueue(trx, { instanceId: r.id, kind: 'restart-instance', input: { instanceId: r.id } })
          return true
        })
        if (!queued) throw new Unprocessable(`Instance ${r.id} is not ready: another operation began on it.`)
        ctx.kickTasks()
        return reply.code(202).send()
      }
      case 'resize': {
        const resize = (body.resize ?? {}) as { volume?: unknown; flavorRef?: unknown }
        if (resize.volume !== undefined) {
          await resizeVolume(ctx, req, r, { resize })
          return reply.code(202).send()
        }
        await resizeFlavor(ctx, r, body)
        return reply.code(202).send()
      }
      case 'stop':
      case 'start':
        await stopOrStart(ctx, r, action[0])
        return reply.code(202).send()
      case 'promote_to_replica_source':
        await promoteToReplicaSource(ctx, r)
        return reply.code(202).send()
      case 'eject_replica_source':
        await ejectReplicaSource(ctx, r)
        return reply.code(202).send()
      default:
        throw new BadRequest(`Invalid instance action: ${String(action[0])}.`)
    }
  })
}
