/**
 * The instance status machine. What a user sees (Trove's status) is worked out the way Trove does
 * (trove/instance/models.py): a fault gives ERROR, a running task names its own status, otherwise
 * the guest's report decides. What may change is in one table: `TASK_TRANSITIONS` says which task
 * status may follow which, and every writer goes through the store's compare-and-set `transition`.
 */

/** The operation at work on an instance, if any (Trove's task status). */
export const TASK_STATUSES = ['NONE', 'BUILDING', 'DELETING', 'REBOOTING', 'RESIZING', 'STOPPING', 'STARTING', 'BACKUP', 'PROMOTING', 'EJECTING', 'DETACHING'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

/** What the guest last said about the engine (Trove's ServiceStatuses). */
export const SERVICE_STATUSES = ['NEW', 'BUILD', 'HEALTHY', 'ACTIVE', 'SHUTDOWN', 'FAILED', 'ERROR'] as const
export type ServiceStatus = (typeof SERVICE_STATUSES)[number]

export type InstanceStatus =
  | 'BUILD'
  | 'ACTIVE'
  | 'ERROR'
  | 'SHUTDOWN'
  | 'REBOOT'
  | 'RESIZE'
  | 'FAILED'
  | 'RESTART_REQUIRED'
  | 'BACKUP'
  | 'PROMOTE'
  | 'EJECT'
  | 'DETACH'
  | 'UNKNOWN'

/**
 * Which task status may follow which. NONE → NONE is an operation that runs without a task status
 * of its own (a configuration apply) ending, or an admin's reset; DELETING → NONE is a failed
 * delete, which leaves the instance in ERROR to be deleted again. BUILDING follows NONE only when a
 * create claims a ready spare. RESIZING, STOPPING and STARTING are the flavor resize and a user's
 * stop and start: each ends in NONE (a stopped instance is NONE with `stopped` set). BACKUP runs
 * while the engine keeps serving, and ends in NONE whether the backup succeeded or not.
 * PROMOTING, EJECTING and DETACHING are a replica set's operations, held on every member they move.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  NONE: ['NONE', 'BUILDING', 'REBOOTING', 'RESIZING', 'STOPPING', 'STARTING', 'BACKUP', 'PROMOTING', 'EJECTING', 'DETACHING', 'DELETING'],
  BUILDING: ['NONE', 'DELETING'],
  REBOOTING: ['NONE', 'DELETING'],
  RESIZING: ['NONE', 'DELETING'],
  STOPPING: ['NONE', 'DELETING'],
  STARTING: ['NONE', 'DELETING'],
  BACKUP: ['NONE', 'DELETING'],
  PROMOTING: ['NONE', 'DELETING'],
  EJECTING: ['NONE', 'DELETING'],
  DETACHING: ['NONE', 'DELETING'],
  DELETING: ['NONE'],
}

/** Every task status but DELETING: an instance that is not on its way out. */
export const NOT_DELETING: readonly TaskStatus[] = TASK_STATUSES.filter((t) => t !== 'DELETING')

export const canTransition = (from: TaskStatus, to: TaskStatus): boolean => TASK_TRANSITIONS[from].includes(to)

/** The operations whose failure an instance shows: its tasks' kinds (later: backups). */
export const OPERATIONS = ['create-instance', 'delete-instance', 'restart-instance', 'apply-configuration', 'resize-instance', 'stop-instance', 'start-instance', 'resize-volume'] as const
export type Operation = (typeof OPERATIONS)[number]

/** The task status each operation runs under; null for one that shows none (Trove keeps ACTIVE during a configuration apply). */
export const OPERATION_TASK_STATUS: Readonly<Record<Operation, TaskStatus | null>> = {
  'create-instance': 'BUILDING',
  'delete-instance': 'DELETING',
  'restart-instance': 'REBOOTING',
  'apply-configuration': null,
  'resize-instance': 'RESIZING',
  'stop-instance': 'STOPPING',
  'start-instance': 'STARTING',
  'resize-volume': 'RESIZING',
}

/**
 * Operations whose failure leaves the engine as it was (built, with its data and its previous
 * settings): another restart or configuration change may mend the instance, and a successful one
 * clears the fault. A failed create or delete leaves a half-made or half-removed instance: only a
 * delete (or an admin's reset_status) goes on from there.
 */
export const MENDABLE: readonly Operation[] = ['restart-instance', 'apply-configuration', 'resize-instance', 'stop-instance', 'start-instance', 'resize-volume']

export interface Fault {
  readonly message: string
  readonly created: string
  readonly details?: string
  /** The operation that failed; null for a fault recorded before faults named one (treated as a failed build). */
  readonly operation?: Operation | null
}

export interface StatusInputs {
  readonly taskStatus: TaskStatus
  readonly serviceStatus: ServiceStatus
  readonly fault: Fault | null
  /** Applied configuration waits for a restart. */
  readonly pendingRestart?: boolean
  /** A user stopped the instance (the stop action) and has not started it again. */
  readonly stopped?: boolean
}

export function instanceStatus({ taskStatus, serviceStatus, fault, pendingRestart, stopped }: StatusInputs): InstanceStatus {
  if (taskStatus === 'DELETING') return 'SHUTDOWN'
  if (fault) return 'ERROR'
  if (taskStatus === 'BUILDING') return 'BUILD'
  if (taskStatus === 'REBOOTING' || taskStatus === 'STARTING') return 'REBOOT'
  if (taskStatus === 'RESIZING') return 'RESIZE'
  if (taskStatus === 'BACKUP') return 'BACKUP'
  if (taskStatus === 'PROMOTING') return 'PROMOTE'
  if (taskStatus === 'EJECTING') return 'EJECT'
  if (taskStatus === 'DETACHING') return 'DETACH'
  // A late heartbeat from before the stop must not make a stopped instance look ACTIVE.
  if (taskStatus === 'STOPPING' || stopped) return 'SHUTDOWN'
  switch (serviceStatus) {
    case 'HEALTHY':
    case 'ACTIVE':
      return pendingRestart ? 'RESTART_REQUIRED' : 'ACTIVE'
    case 'SHUTDOWN':
      return 'SHUTDOWN'
    case 'FAILED':
    case 'ERROR':
      return 'ERROR'
    case 'NEW':
    case 'BUILD':
      return 'BUILD'
  }
}

/** Trove shows the guest's health only when no task runs and the server itself is up. */
export function operatingStatus(inputs: StatusInputs): string {
  if (inputs.taskStatus !== 'NONE' || inputs.fault) return ''
  return inputs.serviceStatus === 'NEW' ? '' : inputs.serviceStatus
}

export const isMendable = (fault: Pick<Fault, 'operation'> | null): boolean => fault === null || MENDABLE.includes(fault.operation as Operation)

export const isDeleting = (s: Pick<StatusInputs, 'taskStatus'>): boolean => s.taskStatus === 'DELETING'
export const isBuilding = (s: Pick<StatusInputs, 'taskStatus'>): boolean => s.taskStatus === 'BUILDING'

const engineUp = (s: StatusInputs): boolean => s.serviceStatus === 'HEALTHY' || s.serviceStatus === 'ACTIVE'

/** Operations that need the engine answering refuse with 422 otherwise, as Trove does. */
export const isReady = (inputs: StatusInputs): boolean => {
  const s = instanceStatus(inputs)
  return s === 'ACTIVE' || s === 'RESTART_REQUIRED'
}

/**
 * True when an instance's engine should be running and watched (heartbeats, restarts after a
 * crash): placed and built, no task at work on it, and no failed build or delete. A mendable fault
 * does not stop the watch: its health reports keep flowing while the fault is shown, nor does a
 * backup, which runs beside the serving engine. A stopped
 * instance is not watched: its engine stays stopped until a start.
 */
export const isSupervised = (s: StatusInputs): boolean => (s.taskStatus === 'NONE' || s.taskStatus === 'BACKUP') && !s.stopped && s.serviceStatus !== 'NEW' && s.serviceStatus !== 'BUILD' && isMendable(s.fault)

/**
 * A restart may start: no task runs, the engine was built, and no failed build or delete stands in
 * the way. The engine need not answer: a restart is how one that stopped answering is mended.
 */
export const mayRestart = (s: StatusInputs): boolean => isReady(s) || isSupervised(s)

/**
 * A configuration may be attached, detached or read: the engine answers, no task runs, and a fault
 * shown, if any, is a mendable one (a failed apply leaves the engine running with its previous
 * settings, so a detach or another group is the way out).
 */
export const mayConfigure = (s: StatusInputs): boolean => isReady(s) || (isSupervised(s) && engineUp(s))

/** A stop may start: as a restart, the engine built and no task at work; stopping twice is refused. */
export const mayStop = (s: StatusInputs): boolean => !s.stopped && mayRestart(s)

/** A start may begin: the instance was stopped by a user and no task runs on it. */
export const mayStart = (s: StatusInputs): boolean => s.stopped === true && s.taskStatus === 'NONE' && isMendable(s.fault)
