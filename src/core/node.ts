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
/**
 * But never silent for less than this: a node's timers share an event loop with its engines'
 * work, and a busy second on a small machine must not take its datastore versions away.
 */
export const MIN_SILENCE_FOR_DOWN_MS = 30_000

/** How long a node heartbeating every `heartbeatMs` may stay silent before it is DOWN. */
export const silenceForDown = (heartbeatMs: number): number => Math.max(MISSED_HEARTBEATS_FOR_DOWN * heartbeatMs, MIN_SILENCE_FOR_DOWN_MS)
