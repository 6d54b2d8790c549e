import type { Kysely } from 'kysely'

// A replica set's writer address (HAProxy on its source's node forwards it to the current source):
// kept on the source's row, moved to the new source's row on promote and eject, freed with the
// source. A pair is given to one set at a time.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('writer_address', 'text').execute()
  await db.schema.alterTable('instances').addColumn('writer_port', 'integer').execute()
  await db.schema.createIndex('instances_writer').on('instances').columns(['writer_address', 'writer_port']).unique().execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('instances_writer').execute()
  for (const c of ['writer_port', 'writer_address']) await db.schema.alterTable('instances').dropColumn(c).execute()
}
