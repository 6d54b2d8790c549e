/**
 * Configuration parameters of a datastore version, as Trove lists them: by datastore and version
 * name, or by version id. The catalog comes from the engine, through a node that has it.
 */
import type { FastifyInstance } from 'fastify'
import type { ParameterSpec } from '../../core/configuration.js'
import { NotFound, NotImplemented } from '../../core/errors.js'
import { findDatastore, findVersionById, findVersionIn, manifestOf } from '../../store/repos/datastores.js'
import type { DatastoreVersionRow, Db } from '../../store/schema.js'
import type { ApiContext } from '../context.js'
import { requireDatastore } from './datastores.js'

type P = { Params: { projectId: string; datastore: string; version: string; name: string } }

export const parameterView = (versionId: string, p: ParameterSpec) => ({
  name: p.name,
  datastore_version_id: versionId,
  restart_required: p.restartRequired,
  type: p.type,
  ...(p.min === undefined ? {} : { min: p.min }),
  ...(p.max === undefined ? {} : { max: p.max }),
  ...(p.allowed ? { allowed_values: p.allowed } : {}),
})

/** The version by datastore and version name (or id), with its datastore's name. */
export async function resolveVersion(db: Db, datastore: string | undefined, version: string): Promise<{ version: DatastoreVersionRow; datastore: string }> {
  if (datastore === undefined) {
    const v = await findVersionById(db, version)
    const ds = v && (await findDatastore(db, v.datastore_id))
    if (!v || !ds || v.active !== 1) throw new NotFound(`Datastore version '${version}' cannot be found.`, 'DATASTORE_VERSION_NOT_FOUND')
    return { version: v, datastore: ds.name }
  }
  const ds = await requireDatastore(db, datastore)
  const v = findVersionIn(ds, version)
  if (!v) throw new NotFound(`Datastore version '${version}' cannot be found for datastore '${ds.name}'.`, 'DATASTORE_VERSION_NOT_FOUND')
  return { version: v, datastore: ds.name }
}

/** The catalog of a version; 501 when its datastore has no configuration. */
export async function catalogOf(ctx: ApiContext, datastore: string, version: DatastoreVersionRow): Promise<ParameterSpec[]> {
  if (!manifestOf(version).capabilities.configuration) throw new NotImplemented(`Datastore ${datastore} has no configuration parameters.`)
  return ctx.catalog(datastore, version.name)
}

export function parameterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const list = async (datastore: string | undefined, versionRef: string) => {
    const { version, datastore: ds } = await resolveVersion(ctx.db, datastore, versionRef)
    return { 'configuration-parameters': (await catalogOf(ctx, ds, version)).map((p) => parameterView(version.id, p)) }
  }
  const show = async (datastore: string | undefined, versionRef: string, name: string) => {
    const { version, datastore: ds } = await resolveVersion(ctx.db, datastore, versionRef)
    const p = (await catalogOf(ctx, ds, version)).find((x) => x.name === name)
    if (!p) throw new NotFound(`No configuration parameter found by name ${name} for datastore ${ds} ${version.name}.`)
    return parameterView(version.id, p)
  }
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions/:version/parameters', (req) => list(req.params.datastore, req.params.version))
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions/:version/parameters/:name', (req) => show(req.params.datastore, req.params.version, req.params.name))
  app.get<P>('/v1.0/:projectId/datastores/versions/:version/parameters', (req) => list(undefined, req.params.version))
  app.get<P>('/v1.0/:projectId/datastores/versions/:version/parameters/:name', (req) => show(undefined, req.params.version, req.params.name))
}
