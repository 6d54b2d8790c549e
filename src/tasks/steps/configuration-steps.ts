/**
 * Steps that bring an instance's engine in line with its configuration: the datastore version's
 * defaults and its group's values, on top of what the flavor gives.
 */
import { CONFIGURATION_FAULT } from '../../core/configuration.js'
import type { CofferError } from '../../core/errors.js'
import type { Bus } from '../../bus/bus.js'
import { overridesFor } from '../../store/repos/configurations.js'
import * as instances from '../../store/repos/instances.js'
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

    async record(id: string, restartRequired: readonly string[]): Promise<void> {
      const row = await instances.findInstance(db, id)
      if (!row) return
      const clearFault = row.fault_message?.startsWith(CONFIGURATION_FAULT)
      await instances.updateInstance(db, id, { pending_restart: restartRequired.length > 0 ? 1 : 0, ...(clearFault ? { fault_message: null, fault_created: null, fault_details: null } : {}) })
    },

    async restart(id: string, signal?: AbortSignal): Promise<void> {
      const row = await requireInstance(db, id)
      await bus.node(row.node ?? '').restart(await instanceSpec(db, row), { signal })
    },

    async markRestarted(id: string): Promise<void> {
      await instances.updateInstance(db, id, { task_status: 'NONE', pending_restart: 0, service_status: 'HEALTHY', service_status_updated: instances.now() })
    },

    async markApplyFailed(id: string, err: CofferError): Promise<void> {
      if (!(await instances.findInstance(db, id))) return
      await instances.updateInstance(db, id, { task_status: 'NONE', fault_message: `${CONFIGURATION_FAULT}: ${err.message}`, fault_created: instances.now(), fault_details: 'The engine keeps running with its previous settings; update or detach the group to try again.' })
    },
  }
}

export type ConfigurationSteps = ReturnType<typeof configurationSteps>
