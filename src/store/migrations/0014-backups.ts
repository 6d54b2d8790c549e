import type { Kysely } from 'kysely'

// Backups outlive their instance: each row keeps its project and datastore version itself. An
// instance's archive (WAL, binary logs) is a row of its own for the same reason, and for a
// point-in-time restore from an instance that is gone. Keys are stored wrapped by the master key.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('backups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('parent_id', 'text')
    .addColumn('datastore_version_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_detail', 'text')
    .addColumn('strategy', 'text')
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('objects', 'text')
    .addColumn('position', 'text')
    .addColumn('data_bytes', 'integer')
    .addColumn('stored_bytes', 'integer')
    .addColumn('checksum', 'text')
    .addColumn('taken_at', 'text')
    .addColumn('verified_at', 'text')
    .addColumn('verify_status', 'text')
    .addColumn('verify_detail', 'text')
    .addColumn('schedule_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('backups_project').on('backups').columns(['project_id', 'created_at']).execute()
  await db.schema.createIndex('backups_instance').on('backups').columns(['instance_id', 'created_at']).execute()
  await db.schema.createIndex('backups_parent').on('backups').column('parent_id').execute()
  await db.schema
    .createTable('backup_archives')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('datastore_version_id', 'text', (c) => c.notNull())
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('latest_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backup_archives').execute()
  await db.schema.dropTable('backups').execute()
}
