/**
 * What a lost port looks like, engine-agnostic: the start failure (engine-errors.ts classifies what
 * the engine logged during this start) said with the port, and a status look at an engine that
 * does not hold its own port.
 */
import { CofferError } from '../../../core/errors.js'
import type { InstanceContext } from '../datastore.js'

/**
 * The error for an engine that exited because it could not listen on the instance's port, with the
 * end of what it wrote (`written`) for administrators. Not
 * retryable: the same place stays taken; the create workflow moves the instance to another one.
 */
export function portInUse(ctx: InstanceContext, engine: string, written: string): CofferError {
  return new CofferError('PORT_IN_USE', `${engine} of instance ${ctx.instanceId} could not listen on ${ctx.bindAddress}:${ctx.port}: another process holds it.`, {
    retryable: false,
    details: written.split('\n').slice(-20).join('\n'),
  })
}

/**
 * The reply of a status look at an engine that answers its own login but does not hold the
 * instance's port: whatever answers there is not this instance's engine.
 */
export const notOnItsPort = (ctx: InstanceContext, pid: number) =>
  ({ state: 'running', healthy: false, pid, detail: `port ${ctx.port} is not held by this instance's engine (pid ${pid})` }) as const
