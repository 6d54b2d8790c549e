/**
 * The home folder has a private part that no engine account can reach: `<home>/private/` (0700, no
 * ACL) holds the state store and the sealing key. Engines' accounts may pass through the home itself
 * (an ACL lets them reach `instances/<their id>/`), so nothing secret may sit directly in it except
 * files that are 0600 to Coffer's user (openrc, clouds.yaml, which users look for there).
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { sealerWith, type Sealer } from './store/sealed.js'

export const privateDir = (home: string): string => join(home, 'private')
export const statePath = (home: string): string => join(privateDir(home), 'state.sqlite')
const sealingKeyPath = (home: string): string => join(privateDir(home), 'sealing.key')

/** Files users read from the home directly; they hold the admin's password. */
const CREDENTIAL_FILES = ['openrc', 'clouds.yaml']
/** The state store's files, which lived in the home itself before the private part existed. */
const STATE_FILES = ['state.sqlite', 'state.sqlite-wal', 'state.sqlite-shm']

/**
 * Makes the home and its private part, and tightens a home made by an older Coffer: its state store
 * moves into the private part and every credential file becomes 0600. Run before anything opens
 * the store.
 */
export async function preparePrivateHome(home: string): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  // Nobody else may list or write the home. Traverse bits stay: they (or, with an ACL, its mask)
  // are how running engines reach their own folders below it.
  const mode = (await stat(home)).mode
  if (mode & 0o066) await chmod(home, mode & 0o7711)
  await mkdir(privateDir(home), { recursive: true, mode: 0o700 })
  await chmod(privateDir(home), 0o700)
  for (const f of STATE_FILES) {
    const legacy = join(home, f)
    if (!(await exists(legacy))) continue
    await chmod(legacy, 0o600)
    if (!(await exists(join(privateDir(home), f)))) await rename(legacy, join(privateDir(home), f))
  }
  for (const f of CREDENTIAL_FILES) if (await exists(join(home, f))) await chmod(join(home, f), 0o600)
}

/** The key that seals secrets waiting in the state store; made on first use, 0600. */
export async function loadSealer(home: string): Promise<Sealer> {
  const path = sealingKeyPath(home)
  const key = await privateKey(path)
  if (key.length !== 32) throw new Error(`${path} is not a sealing key (32 bytes); restore it from a backup of the home, or remove it to lose the passwords of creates still running`)
  return sealerWith(key)
}

/**
 * The bytes of a key file in the private part, made with 32 random bytes (0600, synced) the first
 * time it is asked for; two starts racing both read the one that won.
 */
export async function privateKey(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    const fh = await open(path, 'wx', 0o600)
    try {
      await fh.writeFile(randomBytes(32))
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return readFile(path)
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false)

export interface HomeLock {
  release(): Promise<void>
}

interface LockHolder {
  readonly pid: number
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), so a reused pid is not mistaken for it. */
  readonly started: string
  readonly url: string
}

/**
 * One `coffer serve` per home: two would run the same tasks and engines. The lock is a file in the
 * private part naming the holder; a holder that is gone (killed, crashed) leaves a stale lock that
 * the next start takes over.
 */
export async function lockHome(home: string, url: string): Promise<HomeLock> {
  const path = join(privateDir(home), 'serve.lock')
  const me: LockHolder = { pid: process.pid, started: await startTimeOf(process.pid) ?? '', url }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(JSON.stringify(me))
      await fh.close()
      return {
        async release() {
          const holder = await readHolder(path)
          if (holder?.pid === me.pid && holder.started === me.started) await unlink(path).catch(() => undefined)
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(path)
    if (holder && (await startTimeOf(holder.pid)) === holder.started) {
      throw new Error(`another coffer serve (pid ${holder.pid}, ${holder.url}) already runs on the home ${home}; stop it first, or give this one another --home`)
    }
    await unlink(path).catch(() => undefined)
  }
  throw new Error(`could not take the lock ${path}: something keeps making it; is another coffer serve starting?`)
}

/** The `coffer serve` running on `home` (its pid and API address), if one is. */
export async function serverOnHome(home: string): Promise<{ readonly pid: number; readonly url: string } | undefined> {
  const holder = await readHolder(join(privateDir(home), 'serve.lock'))
  if (!holder || (await startTimeOf(holder.pid)) !== holder.started) return undefined
  return { pid: holder.pid, url: holder.url }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder
  } catch {
    return undefined // gone, or half-written by a holder that died while writing it
  }
}

async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}
