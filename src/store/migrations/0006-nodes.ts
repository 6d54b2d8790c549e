import type { Kysely } from 'kysely'

// The nodes that host instances: what each announced when it registered, and whether it is alive.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('nodes')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('addresses', 'text', (c) => c.notNull())
    .addColumn('port_first', 'integer', (c) => c.notNull())
    .addColumn('port_last', 'integer', (c) => c.notNull())
    .addColumn('ram_mb', 'integer', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('disk_gb', 'integer', (c) => c.notNull())
    .addColumn('manifests', 'text', (c) => c.notNull())
    .addColumn('heartbeat_ms', 'integer', (c) => c.notNull())
    .addColumn('last_heartbeat', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'text', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('nodes').execute()
}
