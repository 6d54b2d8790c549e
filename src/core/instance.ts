/**
 * Instance status, worked out the way Trove does (trove/instance/models.py): a failed task gives
 * ERROR, a running task names its own status, otherwise the guest's report decides.
 */
export const TASK_STATUSES = ['NONE', 'BUILDING', 'DELETING', 'REBOOTING'] as const
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
  | 'FAILED'
  | 'RESTART_REQUIRED'
  | 'UNKNOWN'

export interface Fault {
  readonly message: string
  readonly created: string
  readonly details?: string
}

export interface StatusInputs {
  readonly taskStatus: TaskStatus
  readonly serviceStatus: ServiceStatus
  readonly fault: Fault | null
  /** Applied configuration waits for a restart. */
  readonly pendingRestart?: boolean
}

export function instanceStatus({ taskStatus, serviceStatus, fault, pendingRestart }: StatusInputs): InstanceStatus {
  if (taskStatus === 'DELETING') return 'SHUTDOWN'
  if (fault) return 'ERROR'
  if (taskStatus === 'BUILDING') return 'BUILD'
  if (taskStatus === 'REBOOTING') return 'REBOOT'
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

/** Operations that need the engine answering refuse with 422 otherwise, as Trove does. */
export const isReady = (inputs: StatusInputs): boolean => {
  const s = instanceStatus(inputs)
  return s === 'ACTIVE' || s === 'RESTART_REQUIRED'
}
