/**
 * The per-instance file of a configuration group's overrides: JSON in the instance's guestDir, the
 * truth an engine's configuration is rendered from at every start. Engine-agnostic: each engine
 * picks the file name and what it stores.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { InstanceContext } from '../datastore.js'
import { writeFileAtomic } from './files.js'

/** Reads and writes one instance's overrides file. */
export interface OverridesFile<T> {
  /** The saved value; a copy of `empty` when there is no file yet. Rejects on any other read error or on bad JSON. */
  read(ctx: InstanceContext): Promise<T>
  /** Same as read, for effectiveConfiguration, which is synchronous (a file of a few hundred bytes). */
  readSync(ctx: InstanceContext): T
  /** Replaces the file atomically and durably, mode 0600 (owned by Coffer: the engine never reads it). */
  write(ctx: InstanceContext, value: T): Promise<void>
}

const orEmpty = <T>(err: unknown, empty: T): T => {
  // A copy, so that no caller can change what the next caller gets.
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(empty)
  throw err
}

/** The overrides file `<guestDir>/<name>`; `empty` is what an instance without one has. */
export function overridesFile<T>(name: string, empty: T): OverridesFile<T> {
  const path = (ctx: InstanceContext): string => join(ctx.guestDir, name)
  return {
    read: (ctx) => readFile(path(ctx), 'utf8').then((text) => JSON.parse(text) as T, (err: unknown) => orEmpty(err, empty)),
    readSync(ctx) {
      try {
        return JSON.parse(readFileSync(path(ctx), 'utf8')) as T
      } catch (err) {
        return orEmpty(err, empty)
      }
    },
    write: (ctx, value) => writeFileAtomic(path(ctx), JSON.stringify(value), { mode: 0o600, durable: true }),
  }
}
