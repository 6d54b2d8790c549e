/**
 * Rules for what users name and send, checked before anything is written. Pure: the datastore's
 * rules come from its manifest.
 */
import { BadRequest } from './errors.js'
import type { DatastoreManifest, NameRules } from './manifest.js'

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

/** Most databases or users one request may create: each is one engine statement or more, done in one call. */
export const MAX_ITEMS_PER_REQUEST = 100

/**
 * Why `text` cannot be a name, or undefined when it can: control and format characters (NUL,
 * newlines, bidi overrides), lone surrogates, and U+FFFD, which is what invalid UTF-8 in a body
 * decodes to.
 */
export function unprintable(text: string): string | undefined {
  if (/[\p{Cc}]/u.test(text)) return 'it contains control characters'
  if (/[\p{Cs}]/u.test(text)) return 'it contains a lone surrogate (not valid Unicode)'
  if (text.includes('\uFFFD')) return 'it contains invalid UTF-8'
  if (/[\p{Cf}]/u.test(text)) return 'it contains invisible format characters'
  return undefined
}

/**
 * The one check for names that are labels (instance, configuration group, flavor): 1 to
 * `maxLength` printable characters, not only spaces.
 */
export function validateLabel(kind: string, name: string, maxLength = 255): void {
  const why = unprintable(name) ?? (name.trim() === '' ? 'it is empty' : name.length > maxLength ? 'it is too long' : undefined)
  if (why) throw new BadRequest(`The ${kind} name '${printable(name)}' is not valid: ${why}; use 1 to ${maxLength} printable characters.`)
}

export function validateInstanceName(name: string): void {
  validateLabel('instance', name)
}

/** Refuses a request that names more than MAX_ITEMS_PER_REQUEST databases or users. */
export function limitItems(kind: 'databases' | 'users', count: number): void {
  if (count > MAX_ITEMS_PER_REQUEST) {
    throw new BadRequest(`A request may name at most ${MAX_ITEMS_PER_REQUEST} ${kind}; this one names ${count}. Send them in several requests.`)
  }
}

const HOST = /^(%|[A-Za-z0-9._%:-]{1,255})$/

/** A user's host: only where the datastore has hosts, and a host name, an address or a pattern of them. */
export function validateUserHost(m: Pick<DatastoreManifest, 'name' | 'userHosts'>, host: string | undefined): void {
  if (host === undefined) return
  if (!m.userHosts) throw new BadRequest(`Datastore ${m.name} users have no host; leave "host" out.`)
  if (!HOST.test(host)) throw new BadRequest(`Host '${printable(host)}' is not valid: use a host name, an address or '%'.`)
}

export function validateName(rules: NameRules, kind: 'database' | 'user', name: string): void {
  const why = unprintable(name)
  if (why) throw new BadRequest(`The ${kind} name '${printable(name)}' is not valid: ${why}.`)
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

/**
 * A password the engine takes and that is not trivially weak: at least `minLength` characters
 * (the deployment's COFFER_MIN_PASSWORD_LENGTH), at most the engine's longest, no control characters.
 */
export function validatePassword(rules: NameRules, user: string, password: string, minLength: number): void {
  if (password.length === 0) throw new BadRequest(`User '${printable(user)}' needs a password.`)
  if (password.length < minLength) {
    throw new BadRequest(`The password of user '${printable(user)}' is too short: passwords must have at least ${minLength} characters.`)
  }
  if (password.length > rules.passwordMaxLength) {
    throw new BadRequest(`The password of user '${printable(user)}' is longer than ${rules.passwordMaxLength} characters.`)
  }
  if (/\p{Cc}/u.test(password)) throw new BadRequest(`The password of user '${printable(user)}' contains control characters.`)
}

/** Databases and users of a create request: valid names, no duplicates, users grant only listed databases. */
export function validateInitialSchema(rules: NameRules, databases: readonly DatabaseInput[], users: readonly UserInput[], minPasswordLength: number): void {
  limitItems('databases', databases.length)
  limitItems('users', users.length)
  const dbNames = new Set<string>()
  for (const db of databases) {
    validateName(rules, 'database', db.name)
    if (dbNames.has(db.name)) throw new BadRequest(`Database '${db.name}' is listed twice.`)
    dbNames.add(db.name)
  }
  const userNames = new Set<string>()
  for (const u of users) {
    validateName(rules, 'user', u.name)
    validatePassword(rules, u.name, u.password, minPasswordLength)
    if (userNames.has(u.name)) throw new BadRequest(`User '${u.name}' is listed twice.`)
    userNames.add(u.name)
    for (const d of u.databases) {
      if (!dbNames.has(d.name)) throw new BadRequest(`User '${u.name}' is given database '${printable(d.name)}', which is not in the request's databases.`)
    }
  }
}

/** Makes a user-supplied string safe to echo in a message (no newlines or control characters). */
export const printable = (s: string): string => s.replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, '?').slice(0, 80)
