/**
 * How a configuration change the engines take live is answered: only once the applies it queued
 * have ended, so a client that reads the engine right after the answer sees the new values (Trove's
 * own test flows do). The wait is bounded (settings.configurationWaitMs); past it the answer goes
 * out with the applies still running, and the caller answers 202.
 */
import { waitForTasks } from '../tasks/queue.js'
import type { ApiContext } from './context.js'

/** Wakes the runner for `taskIds` and resolves true when all of them ended within the bound. */
export async function appliesEnded(ctx: ApiContext, taskIds: readonly string[]): Promise<boolean> {
  if (taskIds.length === 0) return true
  ctx.kickTasks()
  return waitForTasks(ctx.db, taskIds, ctx.settings.configurationWaitMs)
}
