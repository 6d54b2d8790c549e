import type { Kysely } from 'kysely'

// Trove keeps whether root was ever enabled on an instance, and by whom (GET /root, mgmt root history).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('root_enabled_at', 'text').execute()
  await db.schema.alterTable('instances').addColumn('root_enabled_by', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').dropColumn('root_enabled_by').execute()
  await db.schema.alterTable('instances').dropColumn('root_enabled_at').execute()
}
