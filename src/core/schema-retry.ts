/**
 * A request of many databases or users is one operation. The guest makes them one by one, so a
 * crash can leave the first few made; the client's retry of the same request must then go on, not
 * be refused as a duplicate. Items that exist already exactly as asked are taken as made by an
 * earlier attempt; a request whose items all exist, or one that differs from what exists, is a
 * real duplicate. Pure.
 */
import { BadRequest } from './errors.js'
import { printable } from './validation.js'

export interface ExistingDatabase {
  readonly name: string
  readonly character_set?: string | undefined
  readonly collate?: string | undefined
}

export interface ExistingUser {
  readonly name: string
  readonly host?: string | undefined
  readonly databases: readonly { readonly name: string }[]
}

// Engines show `utf8` as `UTF8`, `C.UTF-8` as `C.utf8`...
const same = (a: string | undefined, b: string | undefined): boolean => a === undefined || b === undefined || fold(a) === fold(b)
const fold = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '')

/** Throws the duplicate error unless the request may go on; see the file's comment. */
export function refuseDuplicateDatabases(existing: readonly ExistingDatabase[], asked: readonly ExistingDatabase[]): void {
  const byName = new Map(existing.map((d) => [d.name, d]))
  const found = asked.filter((d) => byName.has(d.name))
  const differs = found.find((d) => {
    const e = byName.get(d.name) as ExistingDatabase
    return !same(d.character_set, e.character_set) || !same(d.collate, e.collate)
  })
  const clash = found.length === asked.length ? found[0] : differs
  if (clash) throw new BadRequest(`A database with the name "${printable(clash.name)}" already exists.`)
}

/**
 * As for databases; a user counts as made by an earlier attempt when it has no database the
 * request does not give it (a crash may have come before its grants). `userHosts`: whether a user
 * is a name and a host.
 */
export function refuseDuplicateUsers(existing: readonly ExistingUser[], asked: readonly ExistingUser[], userHosts: boolean): void {
  const key = (u: ExistingUser): string => (userHosts ? `${u.name}@${u.host ?? '%'}` : u.name)
  const byKey = new Map(existing.map((u) => [key(u), u]))
  const found = asked.filter((u) => byKey.has(key(u)))
  const differs = found.find((u) => {
    const given = new Set(u.databases.map((d) => d.name))
    return (byKey.get(key(u)) as ExistingUser).databases.some((d) => !given.has(d.name))
  })
  const clash = found.length === asked.length ? found[0] : differs
  if (clash) throw new BadRequest(`A user with the name "${printable(clash.name)}" already exists.`)
}
