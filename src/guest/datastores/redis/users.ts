/**
 * ACL users inside a Redis instance, managed as the service user. Every client user gets the same
 * rules: all keys and channels, all commands but the dangerous ones (CONFIG, DEBUG, SHUTDOWN,
 * MODULE, REPLICAOF, FLUSHALL, FLUSHDB, ACL changes, KEYS, MONITOR, ...). Every change ends with
 * ACL SAVE inside the same MULTI, so what a client sees is also what survives a restart.
 * Redis has numbered databases but no named ones to grant, so users hold no databases.
 */
import { BadRequest, Conflict, NotFound, NotImplemented } from '../../../core/errors.js'
import type { GuestUser } from '../../protocol.js'
import type { GuestUserInfo, InstanceContext, UserAdmin, UserChanges, UserRef } from '../datastore.js'
import { transaction, withService, type RedisClient } from './client.js'
import { redisNames } from './manifest.js'

/**
 * Rules after `reset on <password>`. INFO is given back after -@dangerous because common clients
 * (ioredis's ready check, BullMQ, Sidekiq) call it on connect; it shows server statistics, not data.
 */
export const USER_RULES: readonly string[] = ['~*', '&*', '+@all', '-@dangerous', '+info']

const SAVE = ['ACL', 'SAVE'] as const

/** Throws BadRequest for the engine's own user names (compared ignoring case, to avoid look-alikes). */
export function refuseReserved(name: string): void {
  if (redisNames.reservedUsers.includes(name.toLowerCase())) {
    throw new BadRequest(`The user name '${name}' is reserved for the datastore's own use.`)
  }
}

/**
 * Throws BadRequest for a password Redis cannot take. It arrives as one argument (`>password`),
 * so spaces and any other character are fine; only an empty one is refused, since `>` alone
 * would set a password nobody meant.
 */
export function checkPassword(password: string): void {
  if (password.length === 0) throw new BadRequest('Redis passwords cannot be empty.')
}

/** Checks users before anything is changed: not reserved, a password, and no databases. */
export function checkUsers(users: readonly GuestUser[]): void {
  for (const u of users) {
    refuseReserved(u.name)
    checkPassword(u.password)
    if (u.databases.length > 0) {
      throw new BadRequest(`Redis has no databases to grant: user '${u.name}' may use every key, so give it no databases.`)
    }
  }
}

const setUser = (name: string, passwordRules: readonly string[]): string[] =>
  ['ACL', 'SETUSER', name, 'reset', 'on', ...passwordRules, ...USER_RULES]

/** The password hashes (`#<sha256>` rules) of a user, or undefined when it does not exist. */
async function passwordHashes(c: RedisClient, name: string): Promise<string[] | undefined> {
  const info = (await c.call('ACL', 'GETUSER', name)) as unknown[] | null
  if (!info) return undefined
  const at = info.indexOf('passwords')
  return ((info[at + 1] as string[] | undefined) ?? []).map((hash) => `#${hash}`)
}

const noDatabases = (): never => {
  throw new NotImplemented('Redis has no databases to grant or revoke: every Redis user may use all keys.')
}

/** Redis's UserAdmin. Creating a user that exists resets it to the given password. */
export const redisUsers: UserAdmin = {
  async list(ctx: InstanceContext): Promise<GuestUserInfo[]> {
    const names = (await withService(ctx, (c) => c.call('ACL', 'USERS'))) as string[]
    return names
      .filter((n) => !redisNames.reservedUsers.includes(n.toLowerCase()))
      .sort()
      .map((name) => ({ name, databases: [] }))
  },

  async create(ctx: InstanceContext, users: readonly GuestUser[]): Promise<void> {
    if (users.length === 0) return
    checkUsers(users)
    await withService(ctx, (c) => transaction(c, [...users.map((u) => setUser(u.name, [`>${u.password}`])), SAVE]))
  },

  async delete(ctx: InstanceContext, user: UserRef): Promise<void> {
    refuseReserved(user.name)
    // Its open connections are closed by Redis; a user owns no keys, so nothing else goes.
    await withService(ctx, (c) => transaction(c, [['ACL', 'DELUSER', user.name], SAVE]))
  },

  async update(ctx: InstanceContext, user: UserRef, changes: UserChanges): Promise<void> {
    refuseReserved(user.name)
    if (changes.host !== undefined) throw new BadRequest('Redis users have no host; only the name and password can change.')
    if (changes.password !== undefined) checkPassword(changes.password)
    const rename = changes.name !== undefined && changes.name !== user.name ? changes.name : undefined
    if (rename !== undefined) refuseReserved(rename)
    if (rename === undefined && changes.password === undefined) return
    await withService(ctx, async (c) => {
      const hashes = await passwordHashes(c, user.name)
      if (!hashes) throw new NotFound(`User '${user.name}' does not exist.`)
      if (rename === undefined) {
        await transaction(c, [['ACL', 'SETUSER', user.name, 'resetpass', `>${changes.password}`], SAVE])
        return
      }
      if (await passwordHashes(c, rename)) throw new Conflict(`User '${rename}' already exists.`)
      // Redis cannot rename a user: make the new one with the same rules and password, then drop the old one.
      const passwordRules = changes.password !== undefined ? [`>${changes.password}`] : hashes
      await transaction(c, [setUser(rename, passwordRules), ['ACL', 'DELUSER', user.name], SAVE])
    })
  },

  grant: async () => noDatabases(),
  revoke: async () => noDatabases(),
}
