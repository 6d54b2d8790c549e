/**
 * Where a new instance goes. Like Nova's filter scheduler, in small: filters drop the nodes that
 * cannot take it (not UP, the datastore version not served, not enough RAM left), then the node
 * with the most RAM left wins, so instances spread out.
 */
import type { NodeState } from '../core/node.js'

export interface NodeView {
  readonly name: string
  readonly state: NodeState
  readonly ramMb: number
  /** Datastore versions the node serves, as `datastore` + `version` names. */
  readonly serves: readonly { readonly datastore: string; readonly version: string }[]
  /** RAM of the flavors of the instances already placed on it. */
  readonly placedRamMb: number
  /** Its instances get addresses on a real interface (a pool there). */
  readonly publicAddresses?: boolean
}

export interface PlacementRequest {
  readonly datastore: string
  readonly version: string
  readonly ramMb: number
  /**
   * Nodes to stay off when another will do: those holding other members of the same replica set,
   * so one host going down takes only one of them. A hint: if only these can take it, one does.
   */
  readonly avoid?: readonly string[]
  /** The instance is public (Trove's access.is_public): only nodes giving public addresses will do. */
  readonly public?: boolean
}

/**
 * Flavors' RAM a node may hold, as a multiple of its own: Nova's default `ram_allocation_ratio`.
 * Idle engines use a small part of their flavor (README, Performance), so a node full by flavor
 * sums is far from full in fact.
 */
export const RAM_ALLOCATION_RATIO = 1.5

export function pickNode(nodes: readonly NodeView[], req: PlacementRequest, ramAllocationRatio = RAM_ALLOCATION_RATIO): NodeView | undefined {
  const free = (n: NodeView) => n.ramMb * ramAllocationRatio - n.placedRamMb
  const fit = nodes.filter(
    (n) => n.state === 'UP' && n.serves.some((s) => s.datastore === req.datastore && s.version === req.version) && free(n) >= req.ramMb && (!req.public || n.publicAddresses),
  )
  const avoid = new Set(req.avoid ?? [])
  const preferred = fit.filter((n) => !avoid.has(n.name))
  const pool = preferred.length > 0 ? preferred : fit
  return [...pool].sort((a, b) => free(b) - free(a) || a.name.localeCompare(b.name))[0]
}

/** Why no node fits, for the fault a user sees (names no host). */
export function whyNoNode(nodes: readonly NodeView[], req: PlacementRequest): string {
  const up = nodes.filter((n) => n.state === 'UP')
  if (up.length === 0) return 'no node is up'
  const serving = up.filter((n) => n.serves.some((s) => s.datastore === req.datastore && s.version === req.version))
  if (serving.length === 0) return `no node that is up serves ${req.datastore} ${req.version}`
  if (req.public && !serving.some((n) => n.publicAddresses)) return `no node that serves ${req.datastore} ${req.version} gives public addresses`
  return `no node that serves ${req.datastore} ${req.version} has ${req.ramMb} MB of RAM left`
}
