/**
 * `/configurations`: Trove's configuration groups. Values are checked against the version's
 * catalog before anything is stored; a change reaches every attached instance as a task of its own.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { validateValues, type ConfigurationValues } from '../../core/configuration.js'
import { BadRequest, NotFound } from '../../core/errors.js'
import { isDeleting, isMendable } from '../../core/instance.js'
import * as configs from '../../store/repos/configurations.js'
import { findVersionById } from '../../store/repos/datastores.js'
import { enqueue } from '../../tasks/queue.js'
import type { ConfigurationRow, Db } from '../../store/schema.js'
import { requireAdmin } from '../auth.js'
import { appliesEnded } from '../configuration-answer.js'
import type { ApiContext } from '../context.js'
import { troveTime } from '../links.js'
import { labelField, parseBody } from '../parse.js'
import { requireDatastore } from './datastores.js'
import { catalogOf, resolveVersion } from './parameters.js'

const Values = z.record(z.string(), z.unknown())
const CreateBody = z.object({
  configuration: z.object({
    name: labelField('configuration group'),
    description: z.string().max(1024).nullable().optional(),
    values: Values,
    datastore: z.object({ type: z.string(), version: z.string().optional() }, { error: 'is required: {"type": ..., "version": ...}' }),
  }),
})
const UpdateBody = z.object({ configuration: z.object({ values: Values, name: labelField('configuration group').optional(), description: z.string().max(1024).nullable().optional() }) })

type P = { Params: { projectId: string; configId: string; versionId: string } }

export async function requireConfiguration(db: Db, id: string, projectId: string): Promise<ConfigurationRow> {
  const row = await configs.findConfiguration(db, id, projectId)
  if (!row) throw new NotFound(`Configuration group with ID ${id} could not be found.`)
  return row
}

async function versionInfo(db: Db, versionId: string) {
  const v = await findVersionById(db, versionId)
  const ds = v && (await db.selectFrom('datastores').select('name').where('id', '=', v.datastore_id).executeTakeFirst())
  if (!v || !ds) throw new NotFound(`Datastore version ${versionId} no longer exists.`)
  return { version: v, datastore: ds.name }
}

async function configurationView(db: Db, row: ConfigurationRow, withValues: boolean) {
  const { version, datastore } = await versionInfo(db, row.datastore_version_id)
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    ...(withValues ? { values: configs.valuesOf(row) } : {}),
    created: troveTime(row.created_at),
    updated: troveTime(row.updated_at),
    instance_count: (await configs.attachedInstances(db, row.id)).length,
    datastore_name: datastore,
    datastore_version_id: version.id,
    datastore_version_name: version.name,
    datastore_version_number: version.version_number,
  }
}

/**
 * Queues one apply task per instance (so one instance's failure stays on that instance), inside the
 * caller's transaction; resolves with the task ids. An instance being deleted, or one whose build
 * or delete failed, has no engine to take the values: it gets none.
 */
async function queueApplies(trx: Db, instanceIds: readonly string[]): Promise<string[]> {
  if (instanceIds.length === 0) return []
  const rows = await trx.selectFrom('instances').select(['id', 'task_status', 'fault_message', 'fault_operation']).where('id', 'in', instanceIds).execute()
  const able = rows.filter((r) => !isDeleting({ taskStatus: r.task_status }) && isMendable(r.fault_message === null ? null : { operation: r.fault_operation }))
  const ids: string[] = []
  for (const r of able) ids.push(await enqueue(trx, { instanceId: r.id, kind: 'apply-configuration', input: { instanceId: r.id } }))
  return ids
}

export function configurationRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx
  const validate = async (versionId: string, values: Record<string, unknown>): Promise<ConfigurationValues> => {
    const { version, datastore } = await versionInfo(db, versionId)
    return validateValues(await catalogOf(ctx, datastore, version), values, `${datastore} ${version.name}`)
  }

  app.get<P>('/v1.0/:projectId/configurations', async (req) => ({
    configurations: await Promise.all((await configs.listConfigurations(db, req.params.projectId)).map((r) => configurationView(db, r, false))),
  }))

  app.post<P>('/v1.0/:projectId/configurations', async (req) => {
    const { configuration: c } = parseBody(CreateBody, req.body)
    const ds = c.datastore.version ? await resolveVersion(db, c.datastore.type, c.datastore.version) : await defaultVersion(db, c.datastore.type)
    const values = await validate(ds.version.id, c.values)
    const ts = new Date().toISOString()
    const row: ConfigurationRow = { id: randomUUID(), project_id: req.params.projectId, name: c.name, description: c.description ?? null, datastore_version_id: ds.version.id, values: JSON.stringify(values), created_at: ts, updated_at: ts }
    await configs.insertConfiguration(db, row)
    return { configuration: await configurationView(db, row, true) }
  })

  app.get<P>('/v1.0/:projectId/configurations/:configId', async (req) => ({
    configuration: await configurationView(db, await requireConfiguration(db, req.params.configId, req.params.projectId), true),
  }))

  app.get<P>('/v1.0/:projectId/configurations/:configId/instances', async (req) => {
    const row = await requireConfiguration(db, req.params.configId, req.params.projectId)
    return { instances: await configs.attachedInstances(db, row.id) }
  })

  /**
   * Validates, then changes the group and queues an apply for each attached instance in one
   * transaction, then waits (bounded) for the applies. Resolves false when some still run.
   */
  const change = (merge: boolean) => async (req: { params: P['Params']; body: unknown }): Promise<boolean> => {
    const row = await requireConfiguration(db, req.params.configId, req.params.projectId)
    const { configuration: c } = parseBody(UpdateBody, req.body)
    const values = await validate(row.datastore_version_id, merge ? { ...configs.valuesOf(row), ...c.values } : c.values)
    const applies = await db.transaction().execute(async (trx) => {
      await configs.updateConfiguration(trx, row.id, { values, ...(c.name ? { name: c.name } : {}), ...(c.description !== undefined ? { description: c.description } : {}) })
      return queueApplies(trx, (await configs.attachedInstances(trx, row.id)).map((i) => i.id))
    })
    return appliesEnded(ctx, applies)
  }
  app.put<P>('/v1.0/:projectId/configurations/:configId', async (req, reply) => {
    await change(false)(req)
    return reply.code(202).send()
  })
  // Trove answers a PATCH 200; 202 says the applies were still running when the wait ran out.
  app.patch<P>('/v1.0/:projectId/configurations/:configId', async (req, reply) => reply.code((await change(true)(req)) ? 200 : 202).send())

  app.delete<P>('/v1.0/:projectId/configurations/:configId', async (req, reply) => {
    const row = await requireConfiguration(db, req.params.configId, req.params.projectId)
    const attached = await configs.attachedInstances(db, row.id)
    if (attached.length > 0) throw new BadRequest(`Configuration group ${row.id} is attached to ${attached.length} instance(s) (${attached.map((i) => i.name).join(', ')}); detach it first.`)
    await configs.deleteConfiguration(db, row.id)
    return reply.code(202).send()
  })

  // Admins: values every instance of a datastore version gets, under its group's.
  app.get<P>('/v1.0/:projectId/mgmt/datastores/versions/:versionId/configuration', async (req) => {
    requireAdmin(req)
    const { version } = await versionInfo(db, req.params.versionId)
    return { values: version.default_values ? JSON.parse(version.default_values) : {} }
  })
  app.put<P>('/v1.0/:projectId/mgmt/datastores/versions/:versionId/configuration', async (req) => {
    requireAdmin(req)
    const { values: raw } = parseBody(z.object({ values: Values }), req.body)
    const values = await validate(req.params.versionId, raw)
    const applies = await db.transaction().execute(async (trx) => {
      await trx.updateTable('datastore_versions').set({ default_values: JSON.stringify(values) }).where('id', '=', req.params.versionId).execute()
      const affected = await trx.selectFrom('instances').select('id').where('datastore_version_id', '=', req.params.versionId).execute()
      return queueApplies(trx, affected.map((i) => i.id))
    })
    if (applies.length > 0) ctx.kickTasks()
    return { values }
  })
}

async function defaultVersion(db: Db, datastore: string) {
  const ds = await requireDatastore(db, datastore)
  const version = ds.versions.find((v) => v.id === ds.default_version_id)
  if (!version) throw new NotFound(`Datastore '${datastore}' has no default version; name one.`, 'DATASTORE_VERSION_NOT_FOUND')
  return { version, datastore: ds.name }
}
