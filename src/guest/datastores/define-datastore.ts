/**
 * Assembles a datastore from its parts. Each engine's discovery says what is installed (versions,
 * name rules, port); the capabilities in the manifest it hands out are derived from the parts the
 * datastore has (`capabilitiesOf`), so they are never listed by hand beside them.
 */
import { capabilitiesOf, type DatastoreManifest } from '../../core/manifest.js'
import type { Datastore } from './datastore.js'

/** What an engine's discovery finds: the manifest without capabilities, which come from the parts. */
export type DiscoveredManifest = Omit<DatastoreManifest, 'capabilities'>

/** A datastore's parts, with a discovery that leaves capabilities out. */
export type DatastoreParts = Omit<Datastore, 'discover'> & { discover(): Promise<DiscoveredManifest> }

export function defineDatastore(parts: DatastoreParts): Datastore {
  const capabilities = capabilitiesOf(parts)
  const strategy = parts.backup ? { backupStrategy: parts.backup.strategy } : {}
  const sync = parts.replication?.setSynchronous ? { synchronousReplication: true } : {}
  const users = parts.replication?.copyUsers ? { usersReplicate: false } : {}
  return { ...parts, discover: async () => ({ ...(await parts.discover()), capabilities, ...strategy, ...sync, ...users }) }
}
