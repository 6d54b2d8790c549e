/**
 * The node's configuration commands: an instance's effective configuration and a group's values
 * applied to it, and a datastore version's catalogs (parameters, character sets), which need no
 * instance.
 */
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ConfigurationValues, ParameterSpec } from '../core/configuration.js'
import { NotImplemented } from '../core/errors.js'
import type { InstanceSpec } from '../guest/protocol.js'
import type { InstanceContexts } from './instance-contexts.js'

export async function effectiveConfiguration(contexts: InstanceContexts, spec: InstanceSpec): Promise<Record<string, string | number | boolean>> {
  return contexts.datastore(spec).engine.effectiveConfiguration(await contexts.require(spec))
}

export async function applyConfiguration(contexts: InstanceContexts, spec: InstanceSpec, values: ConfigurationValues, signal?: AbortSignal): Promise<{ restartRequired: readonly string[] }> {
  const ds = contexts.datastore(spec)
  if (!ds.configuration) throw new NotImplemented(`Datastore ${spec.datastore} has no configuration parameters.`)
  return ds.configuration.apply(await contexts.require(spec, signal), values)
}

export async function parameterCatalog(contexts: InstanceContexts, datastore: string, version: string): Promise<ParameterSpec[]> {
  const { ds, node } = await contexts.nodeScope(datastore, version)
  if (!ds.configuration) throw new NotImplemented(`Datastore ${datastore} has no configuration parameters.`)
  return ds.configuration.catalog(node)
}

export async function characterSetCatalog(contexts: InstanceContexts, datastore: string, version: string): Promise<CharacterSetCatalog> {
  const { ds, node } = await contexts.nodeScope(datastore, version)
  if (!ds.characterSets) throw new NotImplemented(`Datastore ${datastore} cannot list its character sets.`)
  return ds.characterSets(node)
}
