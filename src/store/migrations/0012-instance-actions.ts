import type { Kysely } from 'kysely'

// A user's stop outlives restarts of Coffer and of the node, so it is a column, not a task status;
// `allowed_cidrs` (JSON list, null: any address) and `is_public` are Trove's `access` of an instance.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('stopped', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('instances').addColumn('allowed_cidrs', 'text').execute()
  await db.schema.alterTable('instances').addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0)).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').dropColumn('is_public').execute()
  await db.schema.alterTable('instances').dropColumn('allowed_cidrs').execute()
  await db.schema.alterTable('instances').dropColumn('stopped').execute()
}
