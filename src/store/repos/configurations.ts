import type { ConfigurationValues } from '../../core/configuration.js'
import type { ConfigurationRow, Db } from '../schema.js'

export const valuesOf = (row: { values: string }): ConfigurationValues => JSON.parse(row.values) as ConfigurationValues

export async function insertConfiguration(db: Db, row: ConfigurationRow): Promise<void> {
  await db.insertInto('configurations').values(row).execute()
}

export function findConfiguration(db: Db, id: string, projectId?: string): Promise<ConfigurationRow | undefined> {
  let q = db.selectFrom('configurations').selectAll().where('id', '=', id)
  if (projectId !== undefined) q = q.where('project_id', '=', projectId)
  return q.executeTakeFirst()
}

export function listConfigurations(db: Db, projectId: string): Promise<ConfigurationRow[]> {
  return db.selectFrom('configurations').selectAll().where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute()
}

export async function updateConfiguration(db: Db, id: string, patch: { name?: string; description?: string | null; values?: ConfigurationValues }): Promise<void> {
  await db
    .updateTable('configurations')
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(patch.values === undefined ? {} : { values: JSON.stringify(patch.values) }),
      updated_at: new Date().toISOString(),
    })
    .where('id', '=', id)
    .execute()
}

export async function deleteConfiguration(db: Db, id: string): Promise<void> {
  await db.deleteFrom('configurations').where('id', '=', id).execute()
}

export function attachedInstances(db: Db, configurationId: string): Promise<{ id: string; name: string }[]> {
  return db.selectFrom('instances').select(['id', 'name']).where('configuration_id', '=', configurationId).orderBy('created_at').execute()
}

/** What an instance's engine should run with on top of its flavor: the version's defaults, then its group. */
export async function overridesFor(db: Db, instance: { datastore_version_id: string; configuration_id: string | null }): Promise<ConfigurationValues> {
  const version = await db.selectFrom('datastore_versions').select('default_values').where('id', '=', instance.datastore_version_id).executeTakeFirst()
  const group = instance.configuration_id ? await findConfiguration(db, instance.configuration_id) : undefined
  return { ...(version?.default_values ? (JSON.parse(version.default_values) as ConfigurationValues) : {}), ...(group ? valuesOf(group) : {}) }
}
