/**
 * Resolves the OS account an engine runs as. Engines never run as root: when Coffer runs as root
 * they run as the datastore's account (e.g. Debian's `postgres`); otherwise as whoever runs Coffer,
 * since an unprivileged process cannot switch users.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'
import { CofferError } from '../../../core/errors.js'
import type { OsAccount } from '../datastore.js'

const run = promisify(execFile)

/** True when this process may switch users (and must, since engines refuse to run as root). */
export const runningAsRoot = (): boolean => process.getuid?.() === 0

/**
 * The account named `name` when running as root, else the current user.
 * Throws when the account does not exist or is root itself (uid 0).
 */
export async function resolveOsAccount(name: string): Promise<OsAccount> {
  if (!runningAsRoot()) {
    const me = userInfo()
    return { name: me.username, uid: me.uid, gid: me.gid }
  }
  const found = fromPasswd(await readFile('/etc/passwd', 'utf8'), name) ?? (await fromGetent(name))
  if (!found) throw new CofferError('OS_ACCOUNT_MISSING', `OS account '${name}' does not exist on this node; install the engine's package or create the account.`, { retryable: false })
  if (found.uid === 0) throw new CofferError('OS_ACCOUNT_MISSING', `OS account '${name}' is root; engines must run as an unprivileged account.`, { retryable: false })
  return found
}

/** Parses one account out of passwd(5) text; undefined when absent. */
export function fromPasswd(text: string, name: string): OsAccount | undefined {
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':')
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) }
  }
  return undefined
}

// Accounts from NSS sources other than /etc/passwd (LDAP, systemd-userdb).
async function fromGetent(name: string): Promise<OsAccount | undefined> {
  try {
    return fromPasswd((await run('getent', ['passwd', name])).stdout, name)
  } catch {
    return undefined
  }
}
