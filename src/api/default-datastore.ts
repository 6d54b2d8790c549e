import { NotFound } from '../core/errors.js'
import { listDatastores, type DatastoreWithVersions } from '../store/repos/datastores.js'
import type { Db } from '../store/schema.js'
import type { Settings } from '../config.js'
import { requireDatastore } from './routes/datastores.js'

/** Tried in order when no default is set: the engines a first-time user most likely wants. */
export const DEFAULT_DATASTORE_ORDER = ['postgresql', 'mariadb', 'redis'] as const

/**
 * The datastore of a create that names none, as Trove's `default_datastore`: the setting's, or the
 * first of DEFAULT_DATASTORE_ORDER installed. A setting naming a datastore not installed is a 404
 * that lists those that are, as for a create that names it.
 */
export async function defaultDatastore(db: Db, settings: Pick<Settings, 'defaultDatastore'>): Promise<DatastoreWithVersions> {
  if (settings.defaultDatastore) return requireDatastore(db, settings.defaultDatastore)
  const all = await listDatastores(db)
  for (const name of DEFAULT_DATASTORE_ORDER) {
    const ds = all.find((d) => d.name === name)
    if (ds) return ds
  }
  const there = all.map((d) => d.name).join(', ')
  throw new NotFound(`Give a datastore: no default datastore is set (COFFER_DEFAULT_DATASTORE) and none of ${DEFAULT_DATASTORE_ORDER.join(', ')} is installed${there ? `; datastores here: ${there}` : ''}.`, 'DATASTORE_NOT_FOUND')
}
