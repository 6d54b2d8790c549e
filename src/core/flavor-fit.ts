/**
 * Whether an instance fits a flavor: the engine's floor and the memory its configuration group
 * reserves at start (from the datastore's manifest). Pure; the API refuses with these messages.
 */
import type { ConfigurationValues } from './configuration.js'
import { BadRequest } from './errors.js'
import type { DatastoreManifest } from './manifest.js'

const UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 }

/** A memory value in bytes: a bare number counts in `unit` bytes; "128MB", "1G" carry their own. */
export function memoryBytes(value: unknown, unit: number): number | undefined {
  if (typeof value === 'number') return value * unit
  const m = typeof value === 'string' ? /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(value) : null
  if (!m) return undefined
  const factor = m[2] ? UNITS[m[2].toLowerCase()] : unit
  return factor === undefined ? undefined : Number(m[1]) * factor
}

/** Throws BadRequest when `flavor` is below the engine's floor or the group's reserved memory. */
export function checkFlavorFits(manifest: Pick<DatastoreManifest, 'name' | 'minRamMb' | 'memoryParameters'>, flavor: { readonly id: string; readonly ram_mb: number }, values: ConfigurationValues): void {
  if (manifest.minRamMb !== undefined && flavor.ram_mb < manifest.minRamMb) {
    throw new BadRequest(`Flavor ${flavor.id} has ${flavor.ram_mb} MB RAM; ${manifest.name} needs at least ${manifest.minRamMb} MB.`)
  }
  const reserved = Object.entries(manifest.memoryParameters ?? {}).flatMap(([name, unit]) => {
    const bytes = name in values ? memoryBytes(values[name], unit) : undefined
    return bytes === undefined ? [] : [{ name, bytes }]
  })
  const total = reserved.reduce((n, r) => n + r.bytes, 0)
  if (total >= flavor.ram_mb * 1024 ** 2) {
    const named = reserved.map((r) => `${r.name} ${Math.ceil(r.bytes / 1024 ** 2)} MB`).join(', ')
    throw new BadRequest(`Flavor ${flavor.id} has ${flavor.ram_mb} MB RAM, too little for the attached configuration group (${named}); pick a larger flavor or lower those values.`)
  }
}
