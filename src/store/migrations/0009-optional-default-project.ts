import { sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely'

/**
 * Users may have no default project (Keystone's `default_project_id` is optional), and deleting a
 * project clears it from its users instead of being refused. SQLite cannot drop a NOT NULL, so the
 * table is rebuilt; with foreign keys on, dropping `users` cascades into `role_assignments` and
 * `tokens`, so both are kept aside and put back.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await rebuildUsers(db, (c) => c.references('projects.id').onDelete('set null'))
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('users').where('default_project_id', 'is', null).execute()
  await rebuildUsers(db, (c) => c.notNull().references('projects.id'))
}

async function rebuildUsers(db: Kysely<any>, defaultProject: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder): Promise<void> {
  await sql`CREATE TABLE kept_role_assignments AS SELECT * FROM role_assignments`.execute(db)
  await sql`CREATE TABLE kept_tokens AS SELECT * FROM tokens`.execute(db)
  await db.schema
    .createTable('users_new')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('default_project_id', 'text', defaultProject)
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  await sql`INSERT INTO users_new (id, name, password_hash, default_project_id, created_at) SELECT id, name, password_hash, default_project_id, created_at FROM users`.execute(db)
  await db.schema.dropTable('users').execute()
  await db.schema.alterTable('users_new').renameTo('users').execute()
  await sql`INSERT INTO role_assignments SELECT * FROM kept_role_assignments`.execute(db)
  await sql`INSERT INTO tokens SELECT * FROM kept_tokens`.execute(db)
  await db.schema.dropTable('kept_role_assignments').execute()
  await db.schema.dropTable('kept_tokens').execute()
}
