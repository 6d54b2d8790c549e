/**
 * Slows password guessing (Keystone's `lockout_failure_attempts` / `lockout_duration`), in memory.
 *
 * The rule:
 * - Per user name: `failures` failed logins within `windowMs` lock the name for `lockoutMs`,
 *   doubling with each lockout in a row (up to 15 minutes); while locked, even the right password
 *   is refused. Names are counted whether or not such a user exists, and the refusal reads the
 *   same, so a lockout never tells whether a user exists. A success forgets the name's failures.
 * - Per source address: four times as many failures lock a remote address the same way, so one
 *   address cannot spray guesses over many names.
 * - The node itself (a loopback address) is never locked out: the bootstrap `admin` logging in
 *   from loopback passes its name's lockout, so nobody on the network can lock the admin out of
 *   its own node. Loopback attempts are only slowed instead: past `failures` failures in the
 *   window, they wait their turn one at a time, 250 ms apart doubling per further failure, at
 *   most 4 s apart; a queue longer than 30 s is refused until it drains. Every engine and client
 *   on an embedded node shares the loopback address, so locking it would lock out everyone.
 *   Behind a reverse proxy on the node every client looks like loopback, and these rules apply to
 *   all of them (the source address is the socket's; X-Forwarded-For is not trusted).
 */

import { ADMIN_USER } from './roles.js'

export interface LoginLimits {
  /** Failed logins per user name within the window before a lockout; an address gets four times as many. */
  readonly failures: number
  readonly windowMs: number
  /** The first lockout; each further one in a row doubles it, up to MAX_LOCKOUT_MS. */
  readonly lockoutMs: number
}

/** Go ahead after `delayMs` (0: at once), or refuse without checking the password. */
export type Admission = { readonly go: true; readonly delayMs: number } | { readonly go: false; readonly retryAfterMs: number }

const ADDRESS_FACTOR = 4
const MAX_LOCKOUT_MS = 15 * 60_000
const LOOPBACK_STEP_MS = 250
const LOOPBACK_MAX_STEP_MS = 4000
const LOOPBACK_MAX_WAIT_MS = 30_000
/** Bounds memory under a spray of made-up names; the oldest entries go first. */
const MAX_ENTRIES = 10_000

export const isLoopback = (address: string): boolean => address === '::1' || /^(::ffff:)?127\./.test(address)

interface Entry {
  recent: number[]
  lockedUntil: number
  /** Lockouts in a row; forgotten once the entry has been quiet for a window. */
  strikes: number
  /** Loopback only: when the last admitted attempt may go. */
  nextSlot: number
}

export class LoginThrottle {
  readonly #entries = new Map<string, Entry>()

  constructor(
    readonly limits: LoginLimits,
    readonly now: () => number = Date.now,
  ) {}

  /** Asks before the password is checked. */
  admit(userName: string, address: string): Admission {
    const t = this.now()
    const loopback = isLoopback(address)
    const user = this.#find(`user:${userName}`, t)
    if (user && user.lockedUntil > t && !(loopback && userName === ADMIN_USER)) return { go: false, retryAfterMs: user.lockedUntil - t }
    const addr = this.#find(`addr:${address}`, t)
    if (!addr) return { go: true, delayMs: 0 }
    if (!loopback) return addr.lockedUntil > t ? { go: false, retryAfterMs: addr.lockedUntil - t } : { go: true, delayMs: 0 }
    const over = addr.recent.length - this.limits.failures
    if (over < 0) return { go: true, delayMs: 0 }
    const at = Math.max(t, addr.nextSlot) + Math.min(LOOPBACK_STEP_MS * 2 ** over, LOOPBACK_MAX_STEP_MS)
    if (at - t > LOOPBACK_MAX_WAIT_MS) return { go: false, retryAfterMs: at - t - LOOPBACK_MAX_WAIT_MS }
    addr.nextSlot = at
    return { go: true, delayMs: at - t }
  }

  /** A wrong password, or a name no user has. */
  failed(userName: string, address: string): void {
    const t = this.now()
    this.#count(`user:${userName}`, t, this.limits.failures)
    this.#count(`addr:${address}`, t, isLoopback(address) ? Infinity : this.limits.failures * ADDRESS_FACTOR)
  }

  succeeded(userName: string): void {
    this.#entries.delete(`user:${userName}`)
  }

  #count(key: string, t: number, limit: number): void {
    const e = this.#find(key, t) ?? this.#add(key)
    // Attempts let through a lockout (the loopback admin) neither extend nor repeat it.
    if (e.lockedUntil > t) return
    e.recent.push(t)
    if (e.recent.length < limit) return
    e.strikes += 1
    e.lockedUntil = t + Math.min(this.limits.lockoutMs * 2 ** (e.strikes - 1), Math.max(MAX_LOCKOUT_MS, this.limits.lockoutMs))
    e.recent = []
  }

  /** The entry with failures older than the window dropped; undefined once it has been quiet a whole window. */
  #find(key: string, t: number): Entry | undefined {
    const e = this.#entries.get(key)
    if (!e) return undefined
    e.recent = e.recent.filter((at) => at > t - this.limits.windowMs)
    const quietSince = Math.max(e.lockedUntil, e.nextSlot, e.recent.at(-1) ?? 0)
    if (e.recent.length === 0 && t - quietSince > this.limits.windowMs) {
      this.#entries.delete(key)
      return undefined
    }
    return e
  }

  #add(key: string): Entry {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string)
    const e: Entry = { recent: [], lockedUntil: 0, strikes: 0, nextSlot: 0 }
    this.#entries.set(key, e)
    return e
  }
}
