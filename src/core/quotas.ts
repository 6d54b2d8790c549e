/**
 * Per-project quotas, as Trove keeps them (trove/quota): a hard limit per resource, defaulting to
 * the deployment's settings, checked against what the project uses when it asks for more. Only
 * resources Coffer has are listed.
 */
import { BadRequest, OverLimit } from './errors.js'

export const QUOTA_RESOURCES = ['instances', 'volumes', 'backups'] as const
export type QuotaResource = (typeof QUOTA_RESOURCES)[number]

/** instances: how many; volumes: total GB of the project's volumes (Trove's max_volumes_per_tenant); backups: how many are kept. */
export type QuotaValues = Readonly<Record<QuotaResource, number>>

export const isQuotaResource = (r: string): r is QuotaResource => (QUOTA_RESOURCES as readonly string[]).includes(r)

/** A PUT body's `{"quotas": {...}}` as limits to store; null values are skipped, as Trove does. */
export function parseQuotaUpdate(quotas: Readonly<Record<string, unknown>>): Partial<Record<QuotaResource, number>> {
  const out: Partial<Record<QuotaResource, number>> = {}
  for (const [resource, limit] of Object.entries(quotas)) {
    if (limit === null) continue
    if (!isQuotaResource(resource)) throw new BadRequest(`Quota resource '${resource.slice(0, 80)}' is unknown; Coffer has quotas for ${QUOTA_RESOURCES.join(', ')}.`)
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < -1) {
      throw new BadRequest(`Quota for ${resource} must be a whole number, 0 or more (-1 for no limit), not ${JSON.stringify(limit)?.slice(0, 40)}.`)
    }
    out[resource] = limit
  }
  if (Object.keys(out).length === 0) throw new BadRequest(`Name at least one quota to set, e.g. {"quotas": {"instances": 5}}.`)
  return out
}

/**
 * Refuses a request that would take a project over a limit (-1: none), naming every resource over
 * it in Trove's words, so a client that parses Trove's message still can.
 */
export function checkQuota(limits: QuotaValues, inUse: QuotaValues, asked: Partial<QuotaValues>): void {
  const over = QUOTA_RESOURCES.filter((r) => {
    const more = asked[r] ?? 0
    return more > 0 && limits[r] >= 0 && inUse[r] + more > limits[r]
  })
  if (over.length === 0) return
  const why = over.map((r) => `${r}: ${inUse[r]} in use + ${asked[r]} asked > limit ${limits[r]}${r === 'volumes' ? ' GB' : ''}`).join('; ')
  throw new OverLimit(`Quota exceeded for resources: [${over.map((r) => `'${r}'`).join(', ')}] (${why}).`)
}
