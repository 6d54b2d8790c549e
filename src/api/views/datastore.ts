import { manifestOf, type DatastoreWithVersions } from '../../store/repos/datastores.js'
import type { DatastoreVersionRow } from '../../store/schema.js'
import { links } from '../links.js'

export const versionSummary = (base: string, projectId: string, v: DatastoreVersionRow) => ({
  id: v.id,
  name: v.name,
  version: v.version_number,
  links: links(base, projectId, `datastores/versions/${v.id}`),
})

export const datastoreView = (base: string, projectId: string, ds: DatastoreWithVersions) => ({
  id: ds.id,
  name: ds.name,
  links: links(base, projectId, `datastores/${ds.id}`),
  versions: ds.versions.map((v) => versionSummary(base, projectId, v)),
  ...(ds.default_version_id ? { default_version: ds.default_version_id } : {}),
})

/** Trove's version view plus Coffer's extra fields: the capability matrix and default port. */
export const versionView = (base: string, projectId: string, v: DatastoreVersionRow, datastoreName: string) => {
  const m = manifestOf(v)
  return {
    ...versionSummary(base, projectId, v),
    datastore: v.datastore_id,
    datastore_name: datastoreName,
    datastore_manager: datastoreName,
    active: v.active === 1,
    packages: '',
    image: null,
    image_tags: [],
    version_number: v.version_number,
    default_port: m.defaultPort,
    capabilities: m.capabilities,
  }
}
