/**
 * The character sets and collations a datastore version accepts for a database, as read from the
 * engine by the node, and the check of a request's databases against them. Pure.
 */
import { BadRequest } from './errors.js'
import { printable } from './validation.js'

/** `case`: ignoring case; `case-and-punctuation`: also ignoring all but letters and digits (PostgreSQL's encodings). */
export type Fold = 'case' | 'case-and-punctuation'

export interface CharacterSetCatalog {
  /** The names `character_set` may take, each with the other spellings the engine takes for it. */
  readonly characterSets: readonly { readonly name: string; readonly aliases?: readonly string[] }[]
  /**
   * The names `collate` may take, each with the character set it belongs to (one of
   * `characterSets`' names), or null when it goes with any. A name may appear once per set.
   */
  readonly collations: readonly { readonly name: string; readonly characterSet: string | null }[]
  /**
   * The character set of a database created without one. When set, a collation given alone must
   * belong to it (PostgreSQL); when absent, a collation alone brings its own set (MariaDB).
   */
  readonly defaultCharacterSet?: string
  /** How the engine compares character set names; exactly when absent. */
  readonly fold?: Fold
  /** How the engine compares collation names; exactly when absent. */
  readonly collationFold?: Fold
}

export interface DatabaseCharacterSet {
  readonly name: string
  readonly character_set?: string | undefined
  readonly collate?: string | undefined
}

/** True when the request's databases ask for any character set or collation at all. */
export const asksCharacterSet = (databases: readonly DatabaseCharacterSet[]): boolean =>
  databases.some((d) => d.character_set !== undefined || d.collate !== undefined)

/**
 * Throws BadRequest naming the first database whose character set or collation the engine does
 * not have, or whose collation belongs to another character set.
 */
export function checkCharacterSets(catalog: CharacterSetCatalog, datastore: string, databases: readonly DatabaseCharacterSet[]): void {
  const key = folder(catalog.fold)
  const collationKey = folder(catalog.collationFold)
  const sets = new Map<string, string>()
  for (const cs of catalog.characterSets) for (const n of [cs.name, ...(cs.aliases ?? [])]) sets.set(key(n), cs.name)
  for (const db of databases) {
    const set = db.character_set === undefined ? undefined : sets.get(key(db.character_set))
    if (db.character_set !== undefined && set === undefined) {
      throw new BadRequest(`Database '${printable(db.name)}': ${datastore} has no character set '${printable(db.character_set)}'.`)
    }
    if (db.collate === undefined) continue
    const owners = catalog.collations.filter((c) => collationKey(c.name) === collationKey(db.collate as string)).map((c) => c.characterSet)
    if (owners.length === 0) throw new BadRequest(`Database '${printable(db.name)}': ${datastore} has no collation '${printable(db.collate)}'.`)
    const wanted = set ?? catalog.defaultCharacterSet
    if (wanted !== undefined && !owners.some((o) => o === null || o === wanted)) {
      throw new BadRequest(`Database '${printable(db.name)}': the collation '${printable(db.collate)}' is not one of the character set ${wanted}.`)
    }
  }
}

function folder(fold: Fold | undefined): (name: string) => string {
  if (fold === 'case-and-punctuation') return (n) => n.toLowerCase().replace(/[^a-z0-9]/g, '')
  if (fold === 'case') return (n) => n.toLowerCase()
  return (n) => n
}
