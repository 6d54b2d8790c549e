import { randomUUID } from 'node:crypto'
import type { DatastoreManifest } from '../../core/manifest.js'
import type { DatastoreRow, DatastoreVersionRow, Db } from '../schema.js'

export interface DatastoreWithVersions extends DatastoreRow {
  readonly versions: DatastoreVersionRow[]
}

/**
 * Makes the datastores and versions match what the UP nodes serve: a version is active while at
 * least one UP node serves it. Ids are made once and kept, so clients can hold on to them; a
 * version no UP node serves stays, inactive, because instances may still refer to it.
 */
export async function syncDatastores(db: Db, servedByUpNodes: readonly DatastoreManifest[]): Promise<void> {
  const ts = new Date().toISOString()
  // Several nodes serve the same datastore: one manifest per datastore, with every version any serves.
  const byName = new Map<string, DatastoreManifest>()
  for (const m of servedByUpNodes) {
    const seen = byName.get(m.name)
    const versions = [...(seen?.versions ?? []), ...m.versions.filter((v) => !seen?.versions.some((s) => s.name === v.name))]
    byName.set(m.name, { ...(seen ?? m), versions })
  }
  await db.transaction().execute(async (trx) => {
    const active = new Set<string>()
    for (const m of byName.values()) {
      if (m.versions.length === 0) continue
      let ds = await trx.selectFrom('datastores').selectAll().where('name', '=', m.name).executeTakeFirst()
      if (!ds) {
        ds = { id: randomUUID(), name: m.name, default_version_id: null, created_at: ts }
        await trx.insertInto('datastores').values(ds).execute()
      }
      for (const v of m.versions) {
        const found = await trx.selectFrom('datastore_versions').select('id').where('datastore_id', '=', ds.id).where('name', '=', v.name).executeTakeFirst()
        const values = { version_number: v.versionNumber, active: 1, manifest: JSON.stringify(m), updated_at: ts }
        const id = found?.id ?? randomUUID()
        if (found) await trx.updateTable('datastore_versions').set(values).where('id', '=', id).execute()
        else await trx.insertInto('datastore_versions').values({ id, datastore_id: ds.id, name: v.name, ...values }).execute()
        active.add(id)
      }
    }
    const gone = (await trx.selectFrom('datastore_versions').select('id').where('active', '=', 1).execute()).filter((r) => !active.has(r.id))
    if (gone.length > 0) await trx.updateTable('datastore_versions').set({ active: 0, updated_at: ts }).where('id', 'in', gone.map((r) => r.id)).execute()
    for (const ds of await trx.selectFrom('datastores').select('id').execute()) {
      const newest = await trx.selectFrom('datastore_versions').select('id').where('datastore_id', '=', ds.id).where('active', '=', 1).orderBy('name', 'desc').executeTakeFirst()
      await trx.updateTable('datastores').set({ default_version_id: newest?.id ?? null }).where('id', '=', ds.id).execute()
    }
  })
}

/** Datastores that have at least one active version; inactive ones are not offered. */
export async function listDatastores(db: Db): Promise<DatastoreWithVersions[]> {
  const stores = await db.selectFrom('datastores').selectAll().orderBy('name').execute()
  const versions = await db.selectFrom('datastore_versions').selectAll().where('active', '=', 1).orderBy('name').execute()
  return stores
    .map((ds) => ({ ...ds, versions: versions.filter((v) => v.datastore_id === ds.id) }))
    .filter((ds) => ds.versions.length > 0)
}

/** By name or id, as Trove accepts either. */
export async function findDatastore(db: Db, nameOrId: string): Promise<DatastoreWithVersions | undefined> {
  return (await listDatastores(db)).find((ds) => ds.name === nameOrId || ds.id === nameOrId)
}

export async function findVersionById(db: Db, id: string): Promise<DatastoreVersionRow | undefined> {
  return db.selectFrom('datastore_versions').selectAll().where('id', '=', id).executeTakeFirst()
}

export function findVersionIn(ds: DatastoreWithVersions, nameOrId: string): DatastoreVersionRow | undefined {
  return ds.versions.find((v) => v.name === nameOrId || v.id === nameOrId || v.version_number === nameOrId)
}

export const manifestOf = (v: DatastoreVersionRow): DatastoreManifest => JSON.parse(v.manifest) as DatastoreManifest

/** Records that a client created an instance of this version's datastore (once; later calls change nothing). */
export async function markDatastoreUsed(db: Db, versionId: string): Promise<void> {
  const v = await db.selectFrom('datastore_versions').select('datastore_id').where('id', '=', versionId).executeTakeFirst()
  if (!v) return
  await db.insertInto('datastore_use').values({ datastore_id: v.datastore_id, first_used_at: new Date().toISOString() }).onConflict((oc) => oc.column('datastore_id').doNothing()).execute()
}

/** Names of the datastores clients have ever created an instance of. */
export async function usedDatastores(db: Db): Promise<Set<string>> {
  const rows = await db.selectFrom('datastore_use').innerJoin('datastores', 'datastores.id', 'datastore_use.datastore_id').select('datastores.name').execute()
  return new Set(rows.map((r) => r.name))
}
