import type { Kysely } from 'kysely'

// A fault belongs to the operation that failed: its kind decides what may mend the instance, and
// its task is where the whole story is. Faults from before are of failed applies when their message
// says so; any other is taken for a failed build (only a delete or reset_status goes on from it).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('fault_operation', 'text').execute()
  await db.schema.alterTable('instances').addColumn('fault_task_id', 'text').execute()
  await db
    .updateTable('instances')
    .set({ fault_operation: 'apply-configuration' })
    .where('fault_message', 'like', 'Applying configuration failed%')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').dropColumn('fault_task_id').execute()
  await db.schema.alterTable('instances').dropColumn('fault_operation').execute()
}
