import type { Kysely } from 'kysely'

// Configuration groups (Trove's configurations), their attachment to instances, an instance's
// pending restart, and the per-version default values admins may set.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('configurations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('datastore_version_id', 'text', (c) => c.notNull().references('datastore_versions.id'))
    .addColumn('values', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('configurations_project').on('configurations').columns(['project_id', 'created_at']).execute()
  await db.schema.alterTable('instances').addColumn('configuration_id', 'text').execute()
  await db.schema.alterTable('instances').addColumn('pending_restart', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('datastore_versions').addColumn('default_values', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('datastore_versions').dropColumn('default_values').execute()
  await db.schema.alterTable('instances').dropColumn('pending_restart').execute()
  await db.schema.alterTable('instances').dropColumn('configuration_id').execute()
  await db.schema.dropTable('configurations').execute()
}
