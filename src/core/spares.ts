/**
 * Spares: instances a node prepares before anyone asks, so a create can take one that is already
 * running instead of building an engine from nothing (a warm pool). A spare belongs to no project;
 * a create claims it by giving it an owner, a name and a flavor. This file holds the pure rules:
 * how many of each datastore version to keep, and what to do to get there.
 */

/** How many spares to keep per datastore name (the default version of each is kept warm). */
export type SpareSizes = Readonly<Record<string, number>>

/**
 * How many spares each datastore gets: `sizes` names counts kept whether or not anyone asked
 * (fleets); any other datastore gets `onceUsed` once it has been used (a client created an
 * instance of it, ever: the state store keeps that across restarts), so a fresh server runs nothing.
 */
export interface SparePolicy {
  readonly sizes: SpareSizes
  readonly onceUsed: number
}

/** The spares wanted of one datastore under `policy`. */
export const wantedSpares = (policy: SparePolicy, datastore: string, used: boolean): number => policy.sizes[datastore] ?? (used ? policy.onceUsed : 0)

/** One datastore version's pool as the state store shows it. */
export interface SparePool {
  readonly versionId: string
  readonly wanted: number
  /** Spares ready to be claimed, oldest first. */
  readonly ready: readonly string[]
  /** Spares still being built. */
  readonly building: number
  /** Spares no longer fit to hand out (a failed build, settings waiting for a restart). */
  readonly broken: readonly string[]
  /** When a spare of this version last failed (epoch ms), if ever. */
  readonly lastFailureAt?: number
}

export type SpareAction = { readonly kind: 'make'; readonly versionId: string } | { readonly kind: 'retire'; readonly id: string }

export interface PlanInputs {
  readonly nowMs: number
  /** After a spare of a version failed, no new one is tried for this long. */
  readonly backoffMs: number
  /** A client's create is in progress on the node. */
  readonly clientsCreating: boolean
}

/**
 * What to do now: retire broken spares and any beyond the wanted number (oldest first), and start
 * one new spare per version that is short — unless one is being built already (refilling one at a
 * time), a client's create is in progress (spares are background work: they never compete with
 * the creates they exist to speed up), or a spare failed within the back-off (an engine that cannot
 * start is not retried in a loop).
 */
export function planSpares(pools: readonly SparePool[], o: PlanInputs): SpareAction[] {
  const actions: SpareAction[] = []
  for (const p of pools) {
    for (const id of p.broken) actions.push({ kind: 'retire', id })
    const excess = p.ready.length + p.building - p.wanted
    for (const id of p.ready.slice(0, Math.max(0, excess))) actions.push({ kind: 'retire', id })
    const coolingDown = p.lastFailureAt !== undefined && o.nowMs - p.lastFailureAt < o.backoffMs
    if (!o.clientsCreating && p.building === 0 && p.ready.length < p.wanted && !coolingDown) actions.push({ kind: 'make', versionId: p.versionId })
  }
  return actions
}

/**
 * Reads `COFFER_SPARES`: `none`; `on-demand` (one spare of each datastore once it has been used) or
 * `on-demand=N`; `datastore=count` pairs (`redis=10,postgresql=2`), kept from the start; or both
 * (`on-demand,redis=10`). Throws with the offending part on anything else.
 */
export function parseSparePolicy(text: string): SparePolicy {
  let onceUsed = 0
  const rest: string[] = []
  for (const part of text.split(',')) {
    const m = /^\s*on-demand\s*(?:=\s*(\d+)\s*)?$/.exec(part)
    if (!m) rest.push(part)
    else if ((onceUsed = m[1] === undefined ? 1 : Number(m[1])) > 100) throw new Error(`COFFER_SPARES: on-demand=${onceUsed} is more than 100 spares`)
  }
  return { sizes: parseSpareSizes(rest.join(',')), onceUsed }
}

/**
 * Reads the `datastore=count` part of `COFFER_SPARES`: `none`, or comma-separated `datastore=count` pairs
 * (`redis=10,postgresql=2`). Throws with the offending part on anything else.
 */
export function parseSpareSizes(text: string): SpareSizes {
  const trimmed = text.trim()
  if (trimmed === '' || trimmed === 'none') return {}
  const sizes: Record<string, number> = {}
  for (const part of trimmed.split(',')) {
    const m = /^\s*([a-z][a-z0-9_-]*)\s*=\s*(\d+)\s*$/.exec(part)
    if (!m?.[1] || m[2] === undefined) throw new Error(`COFFER_SPARES: '${part.trim()}' is not datastore=count (e.g. redis=10,postgresql=2, on-demand, or none)`)
    const n = Number(m[2])
    if (n > 100) throw new Error(`COFFER_SPARES: ${m[1]}=${n} is more than 100 spares`)
    sizes[m[1]] = n
  }
  return sizes
}

/** Every spare's volume, in GB; a claim that asks for more grows it before the engine is handed over. */
export const SPARE_VOLUME_GB = 1
