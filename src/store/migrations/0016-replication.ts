import type { Kysely } from 'kysely'

// Replica sets: a replica names its source (Trove's replica_of); the engine's replication state as
// the last heartbeat said it (JSON); set-wide choices kept on the source's row.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('replica_of', 'text').execute()
  await db.schema.alterTable('instances').addColumn('replication', 'text').execute()
  await db.schema.alterTable('instances').addColumn('auto_failover', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('instances').addColumn('sync_replication', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.createIndex('instances_replica_of').on('instances').column('replica_of').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('instances_replica_of').execute()
  for (const c of ['sync_replication', 'auto_failover', 'replication', 'replica_of']) await db.schema.alterTable('instances').dropColumn(c).execute()
}
