/**
 * Whether an instance may have `access.is_public: true`. Trove gives a public instance an address
 * other machines reach (a floating IP); Coffer's counterpart is an address from a node's pool on a
 * real interface (COFFER_INSTANCE_NETWORK=CIDR@IFACE). A loopback pool's address is not public.
 */
import { BadRequest } from '../core/errors.js'
import { givesPublicAddresses, listNodes } from '../store/repos/nodes.js'
import type { Db } from '../store/schema.js'

const SETTING = 'COFFER_INSTANCE_NETWORK=CIDR@IFACE'

/**
 * Throws BadRequest unless an instance placed on `nodeName` (or, when it has none yet, on some UP
 * node serving `datastore`) gets an address on a real interface.
 */
export async function requirePublicAddress(db: Db, datastore: string, nodeName: string | null): Promise<void> {
  const nodes = await listNodes(db)
  if (nodeName) {
    const node = nodes.find((n) => n.name === nodeName)
    if (node && givesPublicAddresses(node)) return
    const gives = node?.pool ? `only loopback addresses (${node.pool.cidr}), reachable from that machine alone` : 'no addresses of their own (they share its address, a port each)'
    throw new BadRequest(`access.is_public true needs an address from a node's pool on a real interface (${SETTING}); the node this instance is on gives ${gives}.`)
  }
  const candidates = nodes.filter((n) => n.state === 'UP' && n.manifests.some((m) => m.name === datastore))
  if (candidates.some(givesPublicAddresses)) return
  throw new BadRequest(`access.is_public true needs an address from a node's pool on a real interface (${SETTING}); no node that is up and serves ${datastore} has one (a loopback pool such as 127.100.0.0/16 is reachable only from its own machine).`)
}
