import type { Kysely } from 'kysely'

// A schedule's id is the name its cron trigger was created under (troveclient sends a UUID), so
// Mistral's `/v2/cron_triggers/{name}` and Coffer's `/schedules/{id}` name the same row. The
// workflow input is kept as the JSON text that was sent: troveclient matches executions to their
// trigger by comparing the two. Runs are the schedule's Mistral executions, MISSED ones included.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('backup_schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('pattern', 'text', (c) => c.notNull())
    .addColumn('incremental', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('verify', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('keep_last', 'integer')
    .addColumn('keep_days', 'integer')
    .addColumn('workflow_input', 'text', (c) => c.notNull())
    .addColumn('next_run_at', 'text')
    .addColumn('last_run_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('backup_schedules_project').on('backup_schedules').columns(['project_id', 'created_at']).execute()
  await db.schema.createIndex('backup_schedules_next').on('backup_schedules').column('next_run_at').execute()
  await db.schema
    .createTable('backup_schedule_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('schedule_id', 'text', (c) => c.notNull())
    .addColumn('scheduled_for', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('backup_id', 'text')
    .addColumn('message', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('backup_schedule_runs_schedule').on('backup_schedule_runs').columns(['schedule_id', 'scheduled_for']).execute()
  await db.schema.createIndex('backup_schedule_runs_state').on('backup_schedule_runs').column('state').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backup_schedule_runs').execute()
  await db.schema.dropTable('backup_schedules').execute()
}
