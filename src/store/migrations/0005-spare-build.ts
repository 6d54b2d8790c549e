import type { Kysely } from 'kysely'

// Which build of Coffer made a spare, so spares made by other code are replaced after an upgrade.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('built_by', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').dropColumn('built_by').execute()
}
