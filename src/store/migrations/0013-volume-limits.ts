import type { Kysely } from 'kysely'

// How each instance's volume is kept and its free space (from heartbeats), and what each node enforces.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('volume_type', 'text').execute()
  await db.schema.alterTable('instances').addColumn('volume_free_bytes', 'integer').execute()
  await db.schema.alterTable('nodes').addColumn('limits', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('nodes').dropColumn('limits').execute()
  await db.schema.alterTable('instances').dropColumn('volume_free_bytes').execute()
  await db.schema.alterTable('instances').dropColumn('volume_type').execute()
}
