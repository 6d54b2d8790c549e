/**
 * One OS account per instance, so that what an engine can do as its own user (a PostgreSQL
 * superuser's COPY ... TO PROGRAM, Redis's CONFIG SET dir) reaches only that instance's files.
 * All of them share the primary group `coffer-engines`, which is what lets them pass through the
 * home folder's ancestors (an ACL for the group); each volume itself is 0700 to its own account.
 * When Coffer does not run as root it cannot switch users: everything runs as the current user.
 *
 * Their uids come from a range of their own (COFFER_ACCOUNT_UID_FIRST, default 200000, as container
 * runtimes keep theirs), not Debian's system range (100-999, shared with packages and ~800 wide).
 * Each account's comment names the home that made it, so a home removes its own leftovers (accounts
 * whose instance folder is gone) and never another home's.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { EnvelopeOwner } from '../compute-driver.js'

const run = promisify(execFile)
export const ENGINE_GROUP = 'coffer-engines'

export const isRoot = (): boolean => process.getuid?.() === 0

export const UID_FIRST = Number(process.env.COFFER_ACCOUNT_UID_FIRST ?? 200_000)
/** Wide enough for any node; below the 2^31 that some tools still choke on. */
const UID_SPAN = 1_000_000

// A comment is one field of /etc/passwd: no ':' or newline in it.
const commentFor = (instanceId: string, home: string): string => `Coffer instance ${instanceId} of ${home.replace(/[:\n]/g, '_')}`
const COMMENT = /^Coffer instance ([0-9a-f-]{36}) of (.*)$/

/** `coffer-` and the first 16 hex digits of the instance id: unique enough, and within 32 characters. */
export const accountName = (instanceId: string): string => `coffer-${instanceId.replaceAll('-', '').slice(0, 16)}`

/** Accounts this process made or found; forgotten when it removes them. */
const known = new Map<string, EnvelopeOwner>()

/**
 * The account from /etc/passwd, where useradd writes it (read in-process: spawning `id` costs ms
 * per call), or from what this process knows already: every engine call looks its account up.
 */
async function idOf(name: string): Promise<EnvelopeOwner | undefined> {
  const cached = known.get(name)
  if (cached) return cached
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`))
  const [, , uid, gid] = line?.split(':') ?? []
  if (uid === undefined || gid === undefined) return undefined
  const account = { name, uid: Number(uid), gid: Number(gid) }
  known.set(name, account)
  return account
}

let group: Promise<number> | undefined
/** The shared group's gid, made on first use. */
export function engineGroup(): Promise<number> {
  group ??= (async () => {
    try {
      await run('groupadd', ['--system', '-f', ENGINE_GROUP])
      return Number((await run('getent', ['group', ENGINE_GROUP])).stdout.split(':')[2])
    } catch (err) {
      group = undefined
      throw err
    }
  })()
  return group
}

// useradd locks /etc/passwd; concurrent creates are queued rather than failed.
let queue: Promise<unknown> = Promise.resolve()
const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
  const p = queue.then(fn, fn)
  queue = p.catch(() => undefined)
  return p
}

export async function findInstanceAccount(instanceId: string): Promise<EnvelopeOwner | undefined> {
  if (!isRoot()) return currentUser()
  return idOf(accountName(instanceId))
}

export async function ensureInstanceAccount(instanceId: string, home: string): Promise<EnvelopeOwner> {
  if (!isRoot()) return currentUser()
  await engineGroup()
  const name = accountName(instanceId)
  // An existing account (a resumed step, a claimed spare) needs no place in useradd's queue.
  const existing = await idOf(name)
  if (existing) return existing
  return oneAtATime(async () => {
    const found = await idOf(name)
    if (found) return found
    // Another home's Coffer may take the same free uid at the same moment (useradd then refuses it:
    // uids stay unique, and the next free one is tried) or hold /etc/passwd's lock (tried again).
    for (let attempt = 1; ; attempt++) {
      const uid = firstFreeUid(await readFile('/etc/passwd', 'utf8'))
      try {
        await run('useradd', ['--system', '--uid', String(uid), '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--gid', ENGINE_GROUP, '--comment', commentFor(instanceId, home), name])
        break
      } catch (err) {
        if (attempt >= 10 || (await idOf(name))) throw err
        await sleep(50 * attempt)
      }
    }
    const made = await idOf(name)
    if (!made) throw new Error(`account ${name} was not created`)
    return made
  })
}

/** The lowest uid of Coffer's range that /etc/passwd does not use. */
export function firstFreeUid(passwd: string, first = UID_FIRST): number {
  const used = new Set(passwd.split('\n').map((l) => Number(l.split(':')[2])))
  for (let uid = first; uid < first + UID_SPAN; uid++) if (!used.has(uid)) return uid
  throw new Error(`no free uid left from ${first} to ${first + UID_SPAN - 1} (COFFER_ACCOUNT_UID_FIRST)`)
}

/** Instance ids of the accounts that `home` made, from their comments in /etc/passwd. */
export function accountsOfHome(passwd: string, home: string): string[] {
  return passwd.split('\n').flatMap((l) => {
    const m = COMMENT.exec(l.split(':')[4] ?? '')
    return m?.[1] && m[2] === home.replace(/[:\n]/g, '_') ? [m[1]] : []
  })
}

/** Removes the accounts `home` made whose instance `stillThere` says is gone. Returns their ids. */
export async function removeStrayAccounts(home: string, stillThere: (instanceId: string) => Promise<boolean>): Promise<string[]> {
  if (!isRoot()) return []
  const removed: string[] = []
  for (const id of accountsOfHome(await readFile('/etc/passwd', 'utf8'), home)) {
    if (await stillThere(id)) continue
    await removeInstanceAccount(id)
    removed.push(id)
  }
  return removed
}

/** Removes the instance's account; its engine must have stopped. No-op when absent. */
export async function removeInstanceAccount(instanceId: string): Promise<void> {
  if (!isRoot()) return
  const name = accountName(instanceId)
  await oneAtATime(async () => {
    // Another home's Coffer may hold /etc/passwd's lock for a moment.
    for (let attempt = 1; await idOf(name); attempt++) {
      try {
        await run('userdel', [name])
      } catch (err) {
        if (attempt >= 10) throw err
        await sleep(50 * attempt)
      }
      known.delete(name)
    }
  })
}

function currentUser(): EnvelopeOwner {
  const me = userInfo()
  return { name: me.username, uid: me.uid, gid: me.gid }
}
