import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../core/errors.js'
import { findDatastore, findVersionById, findVersionIn, listDatastores, type DatastoreWithVersions } from '../../store/repos/datastores.js'
import type { Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { datastoreView, versionView } from '../views/datastore.js'

type P = { Params: { projectId: string; datastore: string; version: string } }

export async function requireDatastore(db: Db, nameOrId: string): Promise<DatastoreWithVersions> {
  const ds = await findDatastore(db, nameOrId)
  if (!ds) throw new NotFound(`Datastore '${nameOrId}' cannot be found.`, 'DATASTORE_NOT_FOUND')
  return ds
}

export function datastoreRoutes(app: FastifyInstance, db: Db): void {
  app.get<P>('/v1.0/:projectId/datastores', async (req) => ({
    datastores: (await listDatastores(db)).map((ds) => datastoreView(baseUrl(req), req.params.projectId, ds)),
  }))
  app.get<P>('/v1.0/:projectId/datastores/:datastore', async (req) => ({
    datastore: datastoreView(baseUrl(req), req.params.projectId, await requireDatastore(db, req.params.datastore)),
  }))
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions', async (req) => {
    const ds = await requireDatastore(db, req.params.datastore)
    return { versions: ds.versions.map((v) => versionView(baseUrl(req), req.params.projectId, v, ds.name)) }
  })
  app.get<P>('/v1.0/:projectId/datastores/versions/:version', async (req) => {
    const v = await findVersionById(db, req.params.version)
    const ds = v && (await findDatastore(db, v.datastore_id))
    if (!v || v.active !== 1 || !ds) throw new NotFound(`Datastore version '${req.params.version}' cannot be found.`, 'DATASTORE_VERSION_NOT_FOUND')
    return { version: versionView(baseUrl(req), req.params.projectId, v, ds.name) }
  })
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions/:version', async (req) => {
    const ds = await requireDatastore(db, req.params.datastore)
    const v = findVersionIn(ds, req.params.version)
    if (!v) throw new NotFound(`Datastore version '${req.params.version}' cannot be found.`, 'DATASTORE_VERSION_NOT_FOUND')
    return { version: versionView(baseUrl(req), req.params.projectId, v, ds.name) }
  })
}
