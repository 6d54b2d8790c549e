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
      if (p.allowed && !p.allowed.includes(s)) throw new BadRequest(`The value '${s}' for the configuration parameter ${p.name} is not one of: ${p.allowed.join(', ')}.`)
      return s
    }
  }
}
