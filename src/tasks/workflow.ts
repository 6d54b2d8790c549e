/**
 * A workflow is the decision part of a long operation: it calls idempotent steps by name, and the
 * runner records each completed step, so a workflow run again after a crash skips what was done.
 * Workflow files import only their steps; steps do the I/O.
 */
import type { CofferError } from '../core/errors.js'

export interface WorkflowContext {
  readonly taskId: string
  /**
   * Aborted when the task is cancelled while it runs (its instance is being deleted). Steps pass it
   * on to what they wait for, so a cancelled step stops its waits and child processes and rejects.
   */
  readonly signal: AbortSignal
  /**
   * Runs `fn` once per task: a recorded step returns its recorded result without running again.
   * Retryable failures are tried again a few times with backoff before the task fails; a cancelled
   * task is not retried, and its step rejects with TaskCancelled.
   */
  step<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>
  /** True once the task should stop at the next step boundary (e.g. its instance is being deleted). */
  cancelled(): Promise<boolean>
}

export interface Workflow<I = any> {
  readonly kind: string
  run(t: WorkflowContext, input: I): Promise<void>
  /**
   * Read from the state store before every step and, while a step runs, whenever the runner looks
   * for work; true aborts the running step and ends the task as cancelled. A workflow without it is
   * never cancelled (a delete).
   */
  shouldStop?(input: I): Promise<boolean>
  /** Called once when the task is cancelled (its instance is being deleted): records what a user should see. */
  onCancel?(input: I): Promise<void>
  /** Called once when the task fails for good; records the fault (of `task`) where a user sees it. */
  onFailure?(input: I, error: CofferError, task: { readonly id: string }): Promise<void>
  /** The input to keep once the task has ended: secrets removed. */
  scrub?(input: I): unknown
}

export const workflow = <I>(w: Workflow<I>): Workflow<I> => w

/** Thrown by `step` when the task was cancelled; the runner ends the task quietly. */
export class TaskCancelled extends Error {
  constructor() {
    super('task cancelled')
  }
}
