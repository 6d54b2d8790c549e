import type { Kysely } from 'kysely'

// What happened to an instance that its owner should be able to read later: the set operations
// (promote, eject, detach) and automatic failover, one row per member concerned.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('instance_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('instance_events_instance').on('instance_events').columns(['instance_id', 'at']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('instance_events').execute()
}
