import type { InstanceSpec } from '../guest/protocol.js'
import { serialised } from '../guest/datastores/common/serialise.js'

/**
 * One lifecycle change (prepare, start, stop, restart, destroy) at a time per instance, so a
 * supervisor's start cannot interleave with a delete and bring back an engine whose envelope is
 * being removed. Engines serialise their own steps too; this covers what spans the envelope.
 */
export const lifecycle = <T>(spec: InstanceSpec | string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
  // A change cancelled while it queued behind another never starts.
  serialised(`node:${typeof spec === 'string' ? spec : spec.instanceId}`, async () => {
    signal?.throwIfAborted()
    return fn()
  })
