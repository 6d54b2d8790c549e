import { randomUUID } from 'node:crypto'
import type { Db, TaskRow } from '../schema.js'

export type TaskState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled'
const OPEN: TaskState[] = ['pending', 'running']

/**
 * Writes a pending task. Callers queue work through tasks/queue.ts `enqueue`, which types each
 * kind's input; this is the row it writes.
 */
export async function insertTask(db: Db, t: { instanceId: string; kind: string; input: unknown }): Promise<string> {
  const id = randomUUID()
  const ts = new Date().toISOString()
  await db
    .insertInto('tasks')
    .values({ id, instance_id: t.instanceId, kind: t.kind, input: JSON.stringify(t.input), state: 'pending', lease_owner: null, lease_until: null, error: null, created_at: ts, updated_at: ts })
    .execute()
  return id
}

/**
 * Claims the oldest open task whose lease is free or expired, and that is the oldest open task of
 * its instance (tasks of one instance run one at a time, in order). Atomic: the update only wins
 * while the lease is still free.
 */
export async function claimTask(db: Db, owner: string, leaseMs: number, skip: ReadonlySet<string>): Promise<TaskRow | undefined> {
  const nowMs = Date.now()
  const open = await db.selectFrom('tasks').selectAll().where('state', 'in', OPEN).orderBy('created_at').orderBy('id').execute()
  const seen = new Set<string>()
  for (const t of open) {
    if (seen.has(t.instance_id)) continue
    seen.add(t.instance_id)
    if (skip.has(t.id)) continue
    if (t.lease_until !== null && Number(t.lease_until) > nowMs) continue
    const r = await db
      .updateTable('tasks')
      .set({ lease_owner: owner, lease_until: nowMs + leaseMs, state: 'running', attempts: Number(t.attempts) + 1, updated_at: new Date().toISOString() })
      .where('id', '=', t.id)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', nowMs)]))
      .executeTakeFirst()
    if (Number(r.numUpdatedRows) === 1) return { ...t, lease_owner: owner, state: 'running', attempts: Number(t.attempts) + 1 }
  }
  return undefined
}

export async function renewLease(db: Db, taskId: string, owner: string, leaseMs: number): Promise<void> {
  await db.updateTable('tasks').set({ lease_until: Date.now() + leaseMs }).where('id', '=', taskId).where('lease_owner', '=', owner).execute()
}

/** Frees every lease a previous run of this same process held (it is gone; nobody else will renew them). */
export async function releaseLeasesOf(db: Db, ownerPrefix: string): Promise<void> {
  await db.updateTable('tasks').set({ lease_owner: null, lease_until: null }).where('state', 'in', OPEN).where('lease_owner', 'like', `${ownerPrefix}%`).execute()
}

export async function finishTask(db: Db, taskId: string, state: Exclude<TaskState, 'pending' | 'running'>, error: string | null, input?: unknown): Promise<void> {
  await db
    .updateTable('tasks')
    .set({ state, error, lease_owner: null, lease_until: null, updated_at: new Date().toISOString(), ...(input === undefined ? {} : { input: JSON.stringify(input) }) })
    .where('id', '=', taskId)
    .execute()
}

/** The tasks among `ids` that have not ended yet. */
export async function stillOpen(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db.selectFrom('tasks').select('id').where('id', 'in', ids).where('state', 'in', OPEN).execute()
  return rows.map((r) => r.id)
}

export async function openTasksOf(db: Db, instanceId: string): Promise<TaskRow[]> {
  return db.selectFrom('tasks').selectAll().where('instance_id', '=', instanceId).where('state', 'in', OPEN).orderBy('created_at').execute()
}

export async function stepResult(db: Db, taskId: string, name: string): Promise<{ result: string | null } | undefined> {
  return db.selectFrom('task_steps').select('result').where('task_id', '=', taskId).where('name', '=', name).executeTakeFirst()
}

export async function recordStep(db: Db, taskId: string, name: string, result: unknown): Promise<void> {
  await db
    .insertInto('task_steps')
    .values({ task_id: taskId, name, result: result === undefined ? null : JSON.stringify(result), completed_at: new Date().toISOString() })
    .execute()
}
