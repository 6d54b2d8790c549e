/**
 * Configuration parameters and their validation: pure rules over a datastore version's catalog.
 * The catalog itself comes from the engine (see ConfigurationAdmin.catalog on the guest side).
 */
import { BadRequest } from './errors.js'

export type ParameterType = 'integer' | 'float' | 'boolean' | 'string'
export type ParameterValue = string | number | boolean

/** One settable parameter, as Trove's configuration-parameters API shows it. */
export interface ParameterSpec {
  readonly name: string
  readonly type: ParameterType
  /** Inclusive bounds for integer and float parameters, in the unit the engine takes bare numbers in. */
  readonly min?: number
  readonly max?: number
  /** The only values a string parameter may take (an engine's enum), when it has such a list. */
  readonly allowed?: readonly string[]
  /** For a list-valued string parameter (MariaDB's SET type): each comma-separated item must be one of these; empty is allowed. */
  readonly items?: readonly string[]
  /** A JavaScript regular expression (its source) the whole value must match when it is not in `allowed`. */
  readonly pattern?: string
  /** What `pattern` admits, in words, for messages ("SYSTEM, or an offset from -12:59 to +13:00 such as +02:00"). */
  readonly format?: string
  /** True when the engine compares `allowed` values and `items` regardless of case. Default false. */
  readonly ignoreCase?: boolean
  /** True when a new value takes effect only after the engine restarts. */
  readonly restartRequired: boolean
  readonly description?: string
}

export type ConfigurationValues = Readonly<Record<string, ParameterValue>>

/**
 * Checks every value against the catalog and returns them normalised (booleans as booleans,
 * numbers as numbers). Throws BadRequest naming the first parameter that breaks a rule.
 */
export function validateValues(catalog: readonly ParameterSpec[], values: Readonly<Record<string, unknown>>, datastoreLabel: string): Record<string, ParameterValue> {
  const byName = new Map(catalog.map((p) => [p.name, p]))
  const out: Record<string, ParameterValue> = {}
  for (const [name, raw] of Object.entries(values)) {
    const spec = byName.get(name)
    if (!spec) throw new BadRequest(`The configuration parameter ${name} is not supported for this datastore: ${datastoreLabel}.`)
    out[name] = checkValue(spec, raw)
  }
  return out
}

function checkValue(p: ParameterSpec, raw: unknown): ParameterValue {
  const wrongType = () => new BadRequest(`The value provided for the configuration parameter ${p.name} is not of type ${p.type}.`)
  switch (p.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw
      if (raw === 0 || raw === 1) return raw === 1
      if (typeof raw === 'string' && /^(true|false|on|off|yes|no|1|0)$/i.test(raw)) return /^(true|on|yes|1)$/i.test(raw)
      throw wrongType()
    }
    case 'integer':
    case 'float': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
      if (!Number.isFinite(n) || (p.type === 'integer' && !Number.isInteger(n))) throw wrongType()
      if (p.min !== undefined && n < p.min) throw new BadRequest(`The value ${n} for the configuration parameter ${p.name} is less than the minimum allowed: ${p.min}.`)
      if (p.max !== undefined && n > p.max) throw new BadRequest(`The value ${n} for the configuration parameter ${p.name} is greater than the maximum allowed: ${p.max}.`)
      return n
    }
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw wrongType()
      const s = String(raw)
      if (/[\p{Cc}'"\\]/u.test(s) || s.length > 1024) throw new BadRequest(`The value for the configuration parameter ${p.name} has characters or a length that are not allowed.`)
      checkText(p, s)
      return s
    }
  }
}

// Longer lists are named by their size only; the parameter's own page lists them (allowed_values).
const LISTED = 20

/** Throws BadRequest unless `s` is one of the values the catalog knows for `p`. */
function checkText(p: ParameterSpec, s: string): void {
  const fold = (v: string): string => (p.ignoreCase ? v.toLowerCase() : v)
  const inList = (list: readonly string[], v: string): boolean => list.some((x) => fold(x) === fold(v))
  const oneOf = (list: readonly string[]): string =>
    list.length <= LISTED ? `one of: ${list.join(', ')}` : `one of the ${list.length} values the engine knows (the parameter's allowed_values)`
  const shown = s.length > 64 ? `${s.slice(0, 64)}...` : s
  if (p.items) {
    const bad = s === '' ? undefined : s.split(',').find((item) => !inList(p.items ?? [], item))
    if (bad === undefined) return
    throw new BadRequest(`The item '${bad.slice(0, 64)}' in the value for the configuration parameter ${p.name} is not ${oneOf(p.items)}. Separate items with commas, without spaces.`)
  }
  if (p.allowed && inList(p.allowed, s)) return
  if (p.pattern !== undefined && new RegExp(`^(?:${p.pattern})$`, 'u').test(s)) return
  const allowed = p.allowed ?? []
  if (allowed.length === 0 && p.pattern === undefined) {
    // A catalog names a format for every text it offers; anything else could be a path or a
    // statement the engine would take, so it is refused rather than passed through.
    throw new BadRequest(`The configuration parameter ${p.name} has no known format of values; it cannot be set.`)
  }
  if (p.pattern === undefined) throw new BadRequest(`The value '${shown}' for the configuration parameter ${p.name} is not ${oneOf(allowed)}.`)
  const what = [...(allowed.length > 0 ? [oneOf(allowed)] : []), p.format ?? `a value matching ${p.pattern}`].join('; or ')
  throw new BadRequest(`The value '${shown}' for the configuration parameter ${p.name} is not allowed: it must be ${what}.`)
}

/** A failed apply's fault message starts so; the engine keeps its previous settings then. */
export const CONFIGURATION_FAULT = 'Applying configuration failed'

/**
 * `values` with each catalogued parameter typed as the catalog types it: engines and their tuning
 * report numbers and switches as text ("100", "on"). Text that is not a plain number or switch
 * (a size with a unit, "128MB") and parameters the catalog does not know are left as they are.
 */
export function typedValues(catalog: readonly ParameterSpec[], values: Readonly<Record<string, ParameterValue>>): Record<string, ParameterValue> {
  const byName = new Map(catalog.map((p) => [p.name, p]))
  const out: Record<string, ParameterValue> = {}
  for (const [name, v] of Object.entries(values)) {
    const type = byName.get(name)?.type
    if (typeof v !== 'string' || type === undefined || type === 'string') out[name] = v
    else if (type === 'boolean') out[name] = /^(true|on|yes|1)$/i.test(v) ? true : /^(false|off|no|0)$/i.test(v) ? false : v
    else out[name] = /^-?\d+(\.\d+)?$/.test(v.trim()) && (type === 'float' || !v.includes('.')) ? Number(v) : v
  }
  return out
}
