/**
 * Steps that bring an instance's engine in line with its configuration: the datastore version's
 * defaults and its group's values, on top of what the flavor gives.
 */
import { CONFIGURATION_FAULT } from '../../core/configuration.js'
import type { CofferError } from '../../core/errors.js'
import type { Bus } from '../../bus/bus.js'
import { overridesFor } from '../../store/repos/configurations.js'
import { NOT_DELETING } from '../../core/instance.js'
import { transition } from '../../store/repos/transition.js'
import type { Db } from '../../store/schema.js'
import { instanceSpec, requireInstance } from './instance-spec.js'

export function configurationSteps(d: { readonly db: Db; readonly bus: Bus }) {
  const { db, bus } = d
  return {
    /**
     * Applies the overrides; resolves with the parameters that wait for a restart. For a new
     * instance nothing is asked of the guest when there is nothing to apply (its datastore may
     * have no configuration at all): `onlyIfAny` when it has no values, `onlyIfGroup` (a claimed
     * spare, which has its version's defaults already) when it has no group.
     */
    async apply(id: string, o: { onlyIfAny?: boolean; onlyIfGroup?: boolean; signal?: AbortSignal } = {}): Promise<readonly string[]> {
      const row = await requireInstance(db, id)
      if (o.onlyIfGroup && row.configuration_id === null) return []
      const values = await overridesFor(db, row)
      if (o.onlyIfAny && Object.keys(values).length === 0) return []
      const { restartRequired } = await bus.node(row.node ?? '').configure(await instanceSpec(db, row), values, { signal: o.signal })
      return restartRequired
    },

    /** The apply succeeded: records what waits for a restart, and clears a fault it mends. */
    async record(id: string, restartRequired: readonly string[]): Promise<void> {
      await transition(db, id, NOT_DELETING, null, { pendingRestart: restartRequired.length > 0, clearFault: 'mended' })
    },

    async restart(id: string, signal?: AbortSignal): Promise<void> {
      const row = await requireInstance(db, id)
      await bus.node(row.node ?? '').restart(await instanceSpec(db, row), { signal })
    },

    async markRestarted(id: string): Promise<void> {
      await transition(db, id, 'REBOOTING', 'NONE', { pendingRestart: false, serviceStatus: 'HEALTHY', clearFault: 'mended' })
    },

    /** The engine keeps its previous settings: the fault says so, and the task status stays as it is. */
    async markApplyFailed(id: string, err: CofferError, taskId: string): Promise<void> {
      const fault = { message: `${CONFIGURATION_FAULT}: ${err.message}`, details: 'The engine keeps running with its previous settings; update or detach the group to try again.', operation: 'apply-configuration' as const, taskId }
      await transition(db, id, NOT_DELETING, null, { fault })
    },
  }
}

export type ConfigurationSteps = ReturnType<typeof configurationSteps>
