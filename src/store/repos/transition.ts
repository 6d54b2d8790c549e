/**
 * The one way an instance's task status or fault changes: a compare-and-set on the task status, as
 * core/instance.ts TASK_TRANSITIONS allows, so two writers racing (an admin's reset and a finishing
 * task, a delete and a spare's claim) cannot both win.
 */
import { canTransition, MENDABLE, type Operation, type ServiceStatus, type TaskStatus } from '../../core/instance.js'
import type { Db, InstanceUpdate } from '../schema.js'

/** The fault of a failed operation, as the instance shows it. */
export interface FaultRecord {
  /** What tenants read: no host paths (core/fault-message.ts). */
  readonly message: string
  /** For administrators: paths, engine log tails. */
  readonly details: string | null
  readonly operation: Operation
  readonly taskId: string | null
}

export interface Change {
  /**
   * The operation failed: show its fault. A fault of a mendable operation (a failed apply) never
   * hides one that only a delete can end (a failed build), which stays shown.
   */
  readonly fault?: FaultRecord
  /**
   * 'mended': the operation succeeded, so a mendable fault shown goes (a failed build's stays).
   * 'any': every fault goes (an admin's reset_status).
   */
  readonly clearFault?: 'mended' | 'any'
  readonly serviceStatus?: ServiceStatus
  readonly pendingRestart?: boolean
  /** Other columns written in the same step (a spare's claim takes the client's name and owner). */
  readonly also?: Omit<InstanceUpdate, 'task_status' | 'service_status' | 'pending_restart' | `fault_${string}`>
  /** Only when the instance is (still) in this project: a spare not claimed meanwhile. */
  readonly inProject?: string
}

type FaultColumn = 'fault_message' | 'fault_details' | 'fault_created' | 'fault_operation' | 'fault_task_id'
const FAULT_COLUMNS: readonly FaultColumn[] = ['fault_message', 'fault_details', 'fault_created', 'fault_operation', 'fault_task_id']

/**
 * Moves instance `id` from any of `from` to `to` and writes `change` with it, in one statement.
 * `to` null keeps the task status as it is: the outcome of an operation that has none of its own
 * (a configuration apply, which may run while a restart is already asked for). Resolves false,
 * writing nothing, when the instance is gone or its task status is not one of `from` (someone
 * else moved it first). Throws when the table does not allow one of the moves: that is a bug in
 * the caller, not a race.
 */
export async function transition(db: Db, id: string, from: TaskStatus | readonly TaskStatus[], to: TaskStatus | null, change: Change = {}): Promise<boolean> {
  const froms: readonly TaskStatus[] = typeof from === 'string' ? [from] : from
  const refused = to === null ? [] : froms.filter((f) => !canTransition(f, to))
  if (froms.length === 0 || refused.length > 0) throw new Error(`the instance status machine has no move from ${refused.join(', ') || 'nothing'} to ${to}`)
  const ts = new Date().toISOString()
  let q = db
    .updateTable('instances')
    .set((eb) => {
      const mendable = eb('fault_operation', 'in', MENDABLE)
      const faults: Partial<Record<FaultColumn, ReturnType<typeof eb.val> | ReturnType<typeof eb.ref>>> = {}
      const f = change.fault
      if (f) {
        const values: Record<FaultColumn, string | null> = { fault_message: f.message, fault_details: f.details, fault_created: ts, fault_operation: f.operation, fault_task_id: f.taskId }
        const keep = MENDABLE.includes(f.operation) ? eb.and([eb('fault_message', 'is not', null), eb.not(mendable)]) : undefined
        for (const c of FAULT_COLUMNS) faults[c] = keep ? eb.case().when(keep).then(eb.ref(c)).else(eb.val(values[c])).end() : eb.val(values[c])
      } else if (change.clearFault === 'any') {
        for (const c of FAULT_COLUMNS) faults[c] = eb.val(null)
      } else if (change.clearFault === 'mended') {
        for (const c of FAULT_COLUMNS) faults[c] = eb.case().when(mendable).then(null).else(eb.ref(c)).end()
      }
      return {
        ...change.also,
        ...(to === null ? {} : { task_status: to }),
        ...(faults as Record<string, never>),
        ...(change.serviceStatus ? { service_status: change.serviceStatus, service_status_updated: ts } : {}),
        ...(change.pendingRestart === undefined ? {} : { pending_restart: change.pendingRestart ? 1 : 0 }),
        updated_at: ts,
      }
    })
    .where('id', '=', id)
    .where('task_status', 'in', froms)
  if (change.inProject !== undefined) q = q.where('project_id', '=', change.inProject)
  const r = await q.executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}
