/**
 * The one way work is queued: `enqueue(trx, ...)` inside the caller's transaction, so the rows a
 * verb changes and the task that carries the change out commit together or not at all. Also how a
 * caller waits, for a bounded time, until tasks it queued have ended.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { isDeleting, NOT_DELETING, type TaskStatus } from '../core/instance.js'
import { findInstance } from '../store/repos/instances.js'
import { listSpares, SPARE_PROJECT } from '../store/repos/spares.js'
import { insertTask, openTasksOf, stillOpen } from '../store/repos/tasks.js'
import { transition } from '../store/repos/transition.js'
import type { Db } from '../store/schema.js'
import type { ApplyConfigurationInput } from './apply-configuration.js'
import type { CreateBackupInput } from './create-backup.js'
import type { CreateInstanceInput } from './create-instance.js'
import type { DeleteBackupInput } from './delete-backup.js'
import type { DeleteInstanceInput } from './delete-instance.js'
import type { ResizeInstanceInput } from './resize-instance.js'
import type { ResizeVolumeInput } from './resize-volume.js'
import type { RestartInstanceInput } from './restart-instance.js'
import type { StartInstanceInput } from './start-instance.js'
import type { ReplicaSetInput } from './replica-set.js'
import type { StopInstanceInput } from './stop-instance.js'
import type { VerifyBackupInput } from './verify-backup.js'

/** Each workflow's kind and the input its task carries. */
export interface TaskInputs {
  'create-instance': CreateInstanceInput
  'delete-instance': DeleteInstanceInput
  'restart-instance': RestartInstanceInput
  'apply-configuration': ApplyConfigurationInput
  'resize-instance': ResizeInstanceInput
  'stop-instance': StopInstanceInput
  'start-instance': StartInstanceInput
  'resize-volume': ResizeVolumeInput
  'create-backup': CreateBackupInput
  'delete-backup': DeleteBackupInput
  'verify-backup': VerifyBackupInput
  'promote-replica': ReplicaSetInput
  'eject-source': ReplicaSetInput
  'detach-replica': ReplicaSetInput
}
export type TaskKind = keyof TaskInputs

/**
 * Queues a task; resolves with its id. Call inside the transaction that changes the rows it acts on.
 * `instanceId` is what the task holds: tasks holding the same one run one at a time, in order (a
 * backup's own tasks hold `backup:<id>`, so a delete and a drill of it never interleave).
 */
export function enqueue<K extends TaskKind>(trx: Db, task: { readonly instanceId: string; readonly kind: K; readonly input: TaskInputs[K] }): Promise<string> {
  return insertTask(trx, task)
}

/**
 * Marks the instance DELETING and queues its delete task (once). Resolves false when it is being
 * deleted already or is gone. Call inside a transaction; the caller wakes the task runner.
 */
export async function requestDelete(trx: Db, id: string): Promise<boolean> {
  return deleteIf(trx, id, NOT_DELETING)
}

/**
 * Starts deleting a spare unless a create claimed it first (or it is being deleted already).
 * Resolves true when its delete task was queued. Call inside a transaction.
 */
export function retireSpare(trx: Db, id: string): Promise<boolean> {
  return deleteIf(trx, id, ['NONE'], SPARE_PROJECT)
}

/** Retires every unclaimed spare of this flavor (it is being deleted); resolves how many. Call inside a transaction. */
export async function retireSparesOfFlavor(trx: Db, flavorId: string): Promise<number> {
  let n = 0
  for (const r of await listSpares(trx)) if (r.flavor_id === flavorId && (await retireSpare(trx, r.id))) n++
  return n
}

async function deleteIf(trx: Db, id: string, from: readonly TaskStatus[], inProject?: string): Promise<boolean> {
  if (!(await transition(trx, id, from, 'DELETING', inProject === undefined ? {} : { inProject }))) return false
  const open = await openTasksOf(trx, id)
  if (!open.some((t) => t.kind === 'delete-instance')) await enqueue(trx, { instanceId: id, kind: 'delete-instance', input: { instanceId: id } })
  return true
}

/** True when the instance is gone or its delete has begun (a task working on it should stop). */
export async function beingDeleted(db: Db, id: string): Promise<boolean> {
  const row = await findInstance(db, id)
  return !row || isDeleting({ taskStatus: row.task_status })
}

// ---- waiting for tasks to end ----

const waiters = new Map<string, Set<() => void>>()

/** Called by the runner of this process when a task has ended (done, failed or cancelled). */
export function taskEnded(id: string): void {
  for (const wake of waiters.get(id) ?? []) wake()
  waiters.delete(id)
}

/**
 * Resolves true once every task of `ids` has ended, or false after `timeoutMs` with some still
 * running. A task this process runs wakes the waiter as it ends (taskEnded); the store is read as
 * well, every `pollMs`, for tasks another process runs (the distributed mode), so a waiter never
 * depends on where its task runs.
 */
export async function waitForTasks(db: Db, ids: readonly string[], timeoutMs: number, pollMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let open = [...ids]
  for (;;) {
    let wake!: () => void
    const ended = new Promise<void>((resolve) => (wake = resolve))
    // Listening before the store is read, so an end between the read and the wait is not missed.
    for (const id of open) waiters.set(id, (waiters.get(id) ?? new Set()).add(wake))
    try {
      open = await stillOpen(db, open)
      const left = deadline - Date.now()
      if (open.length === 0) return true
      if (left <= 0) return false
      const abort = new AbortController()
      await Promise.race([ended, sleep(Math.min(pollMs, left), undefined, { signal: abort.signal }).catch(() => undefined)])
      abort.abort()
    } finally {
      for (const id of ids) {
        const set = waiters.get(id)
        set?.delete(wake)
        if (set?.size === 0) waiters.delete(id)
      }
    }
  }
}

/** What a task on a backup alone (its delete, its drill) holds: never an instance's id. */
export const backupTaskKey = (backupId: string): string => `backup:${backupId}`
