import type { Kysely } from 'kysely'

// Each instance may have its own address from its node's pool, its engine on the standard port: a
// node's instances share a port then, so what is unique is the pair (address, port) on a node.
// Instances placed before keep a null address: they listen on their node's first address.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('address', 'text').execute()
  await db.schema.alterTable('nodes').addColumn('pool_cidr', 'text').execute()
  await db.schema.alterTable('nodes').addColumn('pool_interface', 'text').execute()
  await db.schema.dropIndex('instances_node_port').execute()
  await db.schema.createIndex('instances_node_address_port').on('instances').columns(['node', 'address', 'port']).unique().execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('instances_node_address_port').execute()
  await db.schema.createIndex('instances_node_port').on('instances').columns(['node', 'port']).unique().execute()
  await db.schema.alterTable('nodes').dropColumn('pool_interface').execute()
  await db.schema.alterTable('nodes').dropColumn('pool_cidr').execute()
  await db.schema.alterTable('instances').dropColumn('address').execute()
}
