/**
 * GET /instances/{id}/configuration: what the engine runs with. The node reports its tuning and the
 * overrides it holds, often as text ("100"); the group's values are laid on top, so the answer
 * shows them even while their apply is still on its way, and every value is typed as the catalog
 * types it.
 */
import { typedValues, type ParameterSpec, type ParameterValue } from '../core/configuration.js'
import { overridesFor } from '../store/repos/configurations.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import type { InstanceRow } from '../store/schema.js'
import type { ApiContext } from './context.js'

export async function effectiveConfiguration(ctx: ApiContext, row: InstanceRow): Promise<Record<string, ParameterValue>> {
  const { api, spec } = await ctx.guestOf(row)
  const reported = await api.effectiveConfiguration(spec)
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  const configurable = version !== undefined && manifestOf(version).capabilities.configuration
  // A failed apply left the engine with its previous values: then the engine's word stands alone.
  const failedApply = row.fault_message !== null && row.fault_operation === 'apply-configuration'
  const group = configurable && !failedApply ? await overridesFor(ctx.db, row) : {}
  const catalog: ParameterSpec[] = configurable ? await ctx.catalog(spec.datastore, spec.version) : []
  return typedValues(catalog, { ...reported, ...group })
}
