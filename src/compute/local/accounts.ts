/**
 * One OS account per instance, so that what an engine can do as its own user (a PostgreSQL
 * superuser's COPY ... TO PROGRAM, Redis's CONFIG SET dir) reaches only that instance's files.
 * All of them share the primary group `coffer-engines`, which is what lets them pass through the
 * home folder's ancestors (an ACL for the group); each volume itself is 0700 to its own account.
 * When Coffer does not run as root it cannot switch users: everything runs as the current user.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'
import type { EnvelopeOwner } from '../compute-driver.js'

const run = promisify(execFile)
export const ENGINE_GROUP = 'coffer-engines'

export const isRoot = (): boolean => process.getuid?.() === 0

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

export async function ensureInstanceAccount(instanceId: string): Promise<EnvelopeOwner> {
  if (!isRoot()) return currentUser()
  await engineGroup()
  const name = accountName(instanceId)
  // An existing account (a resumed step, a claimed spare) needs no place in useradd's queue.
  const existing = await idOf(name)
  if (existing) return existing
  return oneAtATime(async () => {
    const found = await idOf(name)
    if (found) return found
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--gid', ENGINE_GROUP, '--comment', `Coffer instance ${instanceId}`, name])
    const made = await idOf(name)
    if (!made) throw new Error(`account ${name} was not created`)
    return made
  })
}

/** Removes the instance's account; its engine must have stopped. No-op when absent. */
export async function removeInstanceAccount(instanceId: string): Promise<void> {
  if (!isRoot()) return
  const name = accountName(instanceId)
  await oneAtATime(async () => {
    if (await idOf(name)) await run('userdel', [name])
    known.delete(name)
  })
}

function currentUser(): EnvelopeOwner {
  const me = userInfo()
  return { name: me.username, uid: me.uid, gid: me.gid }
}
