/**
 * Steps of a user's actions on a built instance: the flavor resize, stop and start. Each is
 * idempotent (writes say the end state, the node's restart and stop are no-ops when already done).
 */
import type { Bus } from '../../bus/bus.js'
import type { CofferError } from '../../core/errors.js'
import { faultOf } from '../../core/fault-message.js'
import { updateInstance } from '../../store/repos/instances.js'
import { transition } from '../../store/repos/transition.js'
import type { Db } from '../../store/schema.js'
import { instanceSpec, requireInstance } from './instance-spec.js'

export function actionSteps(d: { readonly db: Db; readonly bus: Bus }) {
  const { db, bus } = d
  const restartEngine = async (id: string, signal?: AbortSignal) => {
    const row = await requireInstance(db, id)
    // The spec is read after the flavor was written: the engine starts with the new tuning and limits.
    await bus.node(row.node ?? '').restart(await instanceSpec(db, row), { signal })
  }
  return {
    /** Writes the flavor the instance runs with from its next start (the new one, or back to the old). */
    async recordFlavor(id: string, flavorId: string): Promise<void> {
      await updateInstance(db, id, { flavor_id: flavorId })
    },

    restartEngine,

    async markResized(id: string): Promise<void> {
      // The restart took whatever configuration waited for one.
      await transition(db, id, 'RESIZING', 'NONE', { serviceStatus: 'HEALTHY', clearFault: 'mended', pendingRestart: false })
    },

    /**
     * The resize failed for good: the old flavor goes back and the engine is started with it, so
     * the instance ends ACTIVE as it was. Only when that start fails too is the fault shown.
     */
    async revertResize(id: string, oldFlavorId: string, err: CofferError, taskId: string): Promise<void> {
      await updateInstance(db, id, { flavor_id: oldFlavorId })
      try {
        await restartEngine(id)
        await transition(db, id, 'RESIZING', 'NONE', { serviceStatus: 'HEALTHY', pendingRestart: false })
      } catch (again) {
        const fault = { ...faultOf(err), details: `${faultOf(err).details ?? err.message}\nStarting it again with flavor ${oldFlavorId} failed too: ${String(again)}`, operation: 'resize-instance' as const, taskId }
        await transition(db, id, 'RESIZING', 'NONE', { fault, serviceStatus: 'ERROR' })
      }
    },

    async stopEngine(id: string): Promise<void> {
      const row = await requireInstance(db, id)
      await bus.node(row.node ?? '').stop(await instanceSpec(db, row))
    },

    async markStopped(id: string): Promise<void> {
      await transition(db, id, 'STOPPING', 'NONE', { serviceStatus: 'SHUTDOWN', clearFault: 'mended' })
    },

    async markStarted(id: string): Promise<void> {
      await transition(db, id, 'STARTING', 'NONE', { serviceStatus: 'HEALTHY', clearFault: 'mended', pendingRestart: false })
    },
  }
}

export type ActionSteps = ReturnType<typeof actionSteps>
