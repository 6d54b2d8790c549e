import type { Bus } from '../bus/bus.js'
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ParameterSpec } from '../core/configuration.js'
import { NotFound } from '../core/errors.js'
import type { GuestApi } from '../guest/protocol.js'
import { listNodes } from '../store/repos/nodes.js'
import type { Db } from '../store/schema.js'

/**
 * What only a node can tell about a datastore version (its parameter catalog, its character sets),
 * asked of an UP node that serves that version; the control plane never names an engine.
 */
export function nodeLookups(db: Db, bus: Bus) {
  const servingNode = async (datastore: string, version: string): Promise<GuestApi> => {
    const node = (await listNodes(db)).find(
      (n) => n.state === 'UP' && n.manifests.some((m) => m.name === datastore && m.versions.some((v) => v.name === version)),
    )
    if (!node) throw new NotFound(`No node that is up serves ${datastore} ${version}.`, 'DATASTORE_VERSION_NOT_FOUND')
    return bus.node(node.name)
  }
  return {
    catalog: async (datastore: string, version: string): Promise<ParameterSpec[]> => (await servingNode(datastore, version)).catalog(datastore, version),
    characterSets: async (datastore: string, version: string): Promise<CharacterSetCatalog> =>
      (await servingNode(datastore, version)).characterSets(datastore, version),
  }
}
