import type { Kysely } from 'kysely'

// Per-project quota limits set by the cloud admin; a resource without a row takes the setting's default.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('quotas')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('quotas_pk', ['project_id', 'resource'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('quotas').execute()
}
