/**
 * Rules for what users name and send, checked before anything is written. Pure: the datastore's
 * rules come from its manifest.
 */
import { BadRequest } from './errors.js'
import type { NameRules } from './manifest.js'

export interface DatabaseInput {
  readonly name: string
  readonly character_set?: string | undefined
  readonly collate?: string | undefined
}

export interface UserInput {
  readonly name: string
  readonly password: string
  readonly host?: string | undefined
  readonly databases: readonly { readonly name: string }[]
}

// Printable, no control characters; instance names are labels, not identifiers.
const INSTANCE_NAME = /^[^\p{Cc}\p{Cf}]{1,255}$/u

export function validateInstanceName(name: string): void {
  if (!INSTANCE_NAME.test(name) || name.trim() === '') {
    throw new BadRequest(`Instance name '${printable(name)}' is not valid: use 1 to 255 printable characters.`)
  }
}

export function validateName(rules: NameRules, kind: 'database' | 'user', name: string): void {
  if (name.length === 0 || name.length > rules.maxLength) {
    throw new BadRequest(`The ${kind} name '${printable(name)}' is not valid: it must be 1 to ${rules.maxLength} characters long.`)
  }
  if (!new RegExp(`^(?:${rules.pattern})$`, 'u').test(name)) {
    throw new BadRequest(`The ${kind} name '${printable(name)}' is not valid: ${rules.patternText}.`)
  }
  const reserved = kind === 'database' ? rules.reservedDatabases : rules.reservedUsers
  if (reserved.includes(name.toLowerCase())) {
    throw new BadRequest(`The ${kind} name '${name}' is reserved for the datastore's own use.`)
  }
}

export function validatePassword(rules: NameRules, user: string, password: string): void {
  if (password.length === 0) throw new BadRequest(`User '${printable(user)}' needs a password.`)
  if (password.length > rules.passwordMaxLength) {
    throw new BadRequest(`The password of user '${printable(user)}' is longer than ${rules.passwordMaxLength} characters.`)
  }
  if (/\p{Cc}/u.test(password)) throw new BadRequest(`The password of user '${printable(user)}' contains control characters.`)
}

/** Databases and users of a create request: valid names, no duplicates, users grant only listed databases. */
export function validateInitialSchema(rules: NameRules, databases: readonly DatabaseInput[], users: readonly UserInput[]): void {
  const dbNames = new Set<string>()
  for (const db of databases) {
    validateName(rules, 'database', db.name)
    if (dbNames.has(db.name)) throw new BadRequest(`Database '${db.name}' is listed twice.`)
    dbNames.add(db.name)
  }
  const userNames = new Set<string>()
  for (const u of users) {
    validateName(rules, 'user', u.name)
    validatePassword(rules, u.name, u.password)
    if (userNames.has(u.name)) throw new BadRequest(`User '${u.name}' is listed twice.`)
    userNames.add(u.name)
    for (const d of u.databases) {
      if (!dbNames.has(d.name)) throw new BadRequest(`User '${u.name}' is given database '${printable(d.name)}', which is not in the request's databases.`)
    }
  }
}

/** Makes a user-supplied string safe to echo in a message (no newlines or control characters). */
export const printable = (s: string): string => s.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 80)
