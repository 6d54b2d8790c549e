import type { Kysely } from 'kysely'

// When a client first created an instance of each datastore: spares of a datastore are kept only
// once it has been used (COFFER_SPARES=on-demand), and that must outlive the instances and restarts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('datastore_use')
    .addColumn('datastore_id', 'text', (c) => c.primaryKey().references('datastores.id').onDelete('cascade'))
    .addColumn('first_used_at', 'text', (c) => c.notNull())
    .execute()
  // A home made before this table counts the datastores its clients' instances use now.
  const now = new Date().toISOString()
  const used = await db
    .selectFrom('instances')
    .innerJoin('datastore_versions', 'datastore_versions.id', 'instances.datastore_version_id')
    .select('datastore_versions.datastore_id')
    .distinct()
    .where('instances.project_id', '!=', 'coffer-spares')
    .execute()
  for (const r of used) await db.insertInto('datastore_use').values({ datastore_id: r.datastore_id, first_used_at: now }).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('datastore_use').execute()
}
