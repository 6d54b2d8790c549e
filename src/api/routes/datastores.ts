import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../core/errors.js'
import { printable } from '../../core/validation.js'
import { findDatastore, findVersionById, findVersionIn, listDatastores, type DatastoreWithVersions } from '../../store/repos/datastores.js'
import type { DatastoreVersionRow, Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { datastoreView, versionView } from '../views/datastore.js'

type P = { Params: { projectId: string; datastore: string; version: string } }

/** By name or id; a 404 names the datastores there are, so the caller can pick one. */
export async function requireDatastore(db: Db, nameOrId: string): Promise<DatastoreWithVersions> {
  const all = await listDatastores(db)
  const ds = all.find((d) => d.name === nameOrId || d.id === nameOrId)
  if (!ds) throw new NotFound(`Datastore '${printable(nameOrId)}' cannot be found. ${installed(all)}`, 'DATASTORE_NOT_FOUND')
  return ds
}

/** A version of `ds` by name, id or number; a 404 names its versions. */
export function requireVersionIn(ds: DatastoreWithVersions, nameOrId: string): DatastoreVersionRow {
  const v = findVersionIn(ds, nameOrId)
  if (!v) throw new NotFound(`Datastore version '${printable(nameOrId)}' cannot be found for datastore '${ds.name}'; its versions: ${ds.versions.map((x) => x.name).join(', ')}.`, 'DATASTORE_VERSION_NOT_FOUND')
  return v
}

const installed = (all: readonly DatastoreWithVersions[]): string =>
  all.length === 0 ? 'No datastore is installed on any node.' : `Datastores here: ${all.map((d) => `${d.name} (${d.versions.map((v) => v.name).join(', ')})`).join(', ')}.`

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
    const v = requireVersionIn(ds, req.params.version)
    return { version: versionView(baseUrl(req), req.params.projectId, v, ds.name) }
  })
}
