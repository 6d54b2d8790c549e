/** A node's state as the control plane sees it (the `nodes` table). */
export const NODE_STATES = ['UP', 'DOWN', 'DRAINING'] as const
/**
 * UP: registered and heartbeating; takes new instances. DOWN: its heartbeats stopped (missed
 * several); takes nothing and serves no datastore version. DRAINING: alive, keeps its instances,
 * takes no new ones.
 */
export type NodeState = (typeof NODE_STATES)[number]

/** Heartbeats a node may miss before it is DOWN. */
export const MISSED_HEARTBEATS_FOR_DOWN = 3
