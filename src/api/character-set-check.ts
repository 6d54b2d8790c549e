/**
 * Checks the character sets and collations of databases in a request against the engine's own
 * lists (through a node that has the version), before anything is made.
 */
import { asksCharacterSet, checkCharacterSets, type DatabaseCharacterSet } from '../core/character-sets.js'
import { BadRequest, NotImplemented } from '../core/errors.js'
import { printable } from '../core/validation.js'
import type { ApiContext } from './context.js'

const CHARSET = /^[A-Za-z0-9_-]{1,64}$/
const COLLATE = /^[A-Za-z0-9_.@-]{1,64}$/

export async function checkDatabaseCharacterSets(ctx: ApiContext, datastore: string, version: string, databases: readonly DatabaseCharacterSet[]): Promise<void> {
  if (!asksCharacterSet(databases)) return
  // The spelling first: nothing odd travels to the node or into a message.
  for (const d of databases) {
    if (d.character_set !== undefined && !CHARSET.test(d.character_set)) throw new BadRequest(`Database '${printable(d.name)}': character set '${printable(d.character_set)}' is not valid.`)
    if (d.collate !== undefined && !COLLATE.test(d.collate)) throw new BadRequest(`Database '${printable(d.name)}': collation '${printable(d.collate)}' is not valid.`)
  }
  const catalog = await ctx.characterSets(datastore, version).catch((err: unknown) => {
    if (err instanceof NotImplemented) return undefined
    throw err
  })
  if (catalog) checkCharacterSets(catalog, datastore, databases)
}
