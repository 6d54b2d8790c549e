/**
 * A pre-initialised data folder per node and major version, copied into each new instance:
 * copy + start takes ~0.4 s where initdb + start takes ~1.0 s (shared/ENGINE-NOTES.md).
 *
 * Layout: `<cacheDir>/postgresql-<major>/{data/, secret.json, READY}`. It is built in a temporary
 * sibling folder and renamed into place complete, so a crash never leaves a half template that
 * looks finished; leftovers of dead builders are removed. The template's service password is
 * replaced in every instance when it is prepared.
 */
import { randomBytes } from 'node:crypto'
import { access, chmod, chown, mkdir, readdir, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { removeTree, syncDir, syncFileSystem, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { isAlive, runAs } from '../common/process.js'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { OsAccount } from '../datastore.js'
import { binDir, SERVICE_USER } from './manifest.js'

/** A ready template. */
export interface PostgresqlTemplate {
  /** Data folder to copy (`cp -a`); owned by the account it was built for. */
  readonly dataDir: string
  /** Password of the service account inside the template. */
  readonly password: string
  /** Owner of `dataDir`, so a copy can tell whether it must change owners. */
  readonly uid: number
}

const building = new Map<string, Promise<PostgresqlTemplate>>()

/**
 * Returns the node's template for `version`, building it first when missing (as `account`).
 * Concurrent calls in this process share one build; a failed build is retried on the next call.
 */
export function ensureTemplate(cacheDir: string, version: DatastoreVersionInfo, account: OsAccount): Promise<PostgresqlTemplate> {
  const key = `${cacheDir}\0${version.name}`
  let p = building.get(key)
  if (!p) {
    p = readyTemplate(cacheDir, version, account)
    building.set(key, p)
    p.catch(() => building.delete(key))
  }
  return p
}

async function readyTemplate(cacheDir: string, version: DatastoreVersionInfo, account: OsAccount): Promise<PostgresqlTemplate> {
  const dir = join(cacheDir, `postgresql-${version.name}`)
  const found = await readTemplate(dir)
  if (found) return found
  // Only a rename creates `dir`, READY inside: without READY it is not ours to trust.
  await removeTree(dir)
  await mkdir(cacheDir, { recursive: true })
  await removeDeadBuilds(cacheDir, `postgresql-${version.name}.tmp-`)
  const tmp = join(cacheDir, `postgresql-${version.name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await build(tmp, version, account)
    try {
      await rename(tmp, dir)
    } catch (err) {
      // Another Coffer process on this node finished first: use its template.
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err
    }
    await syncDir(cacheDir)
  } finally {
    await removeTree(tmp)
  }
  const made = await readTemplate(dir)
  if (!made) throw new Error(`PostgreSQL template ${dir} is incomplete after being built`)
  return made
}

async function readTemplate(dir: string): Promise<PostgresqlTemplate | undefined> {
  try {
    await access(join(dir, 'READY'))
  } catch {
    return undefined
  }
  const secret = await readSecret<{ password?: string }>(dir, 'secret')
  if (!secret?.password) return undefined
  const dataDir = join(dir, 'data')
  return { dataDir, password: secret.password, uid: (await stat(dataDir)).uid }
}

async function build(tmp: string, version: DatastoreVersionInfo, account: OsAccount): Promise<void> {
  // Coffer owns the folder; the engine's account may only pass through to data/ and pwfile.
  await mkdir(tmp, { mode: 0o711 })
  await chmod(tmp, 0o711)
  const data = join(tmp, 'data')
  const password = newPassword()
  const pwfile = join(tmp, 'pwfile')
  await writeFileAtomic(pwfile, `${password}\n`, { mode: 0o600, account })
  const initdb = async (locale: string): Promise<void> => {
    await removeTree(data)
    await mkdir(data, { mode: 0o700 })
    if (runningAsRoot()) await chown(data, account.uid, account.gid)
    await runAs(join(binDir(version), 'initdb'), [
      '-D', data, '--no-sync', '-U', SERVICE_USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', `--locale=${locale}`,
    ], account)
  }
  try {
    await initdb('C.UTF-8')
  } catch {
    // Systems without a C.UTF-8 locale: plain C sorts the same way and accepts UTF8.
    await initdb('C')
  }
  await removeTree(pwfile)
  await writeSecret(tmp, 'secret', { password })
  // initdb ran with --no-sync: flush once here, so every copy starts from data on disk.
  await syncFileSystem(data)
  await writeFileAtomic(join(tmp, 'READY'), `${version.versionNumber}\n`, { mode: 0o644, durable: true })
}

// Builders leave `<prefix><pid>-<random>` behind when they crash; this process's own leftovers are dead too.
async function removeDeadBuilds(cacheDir: string, prefix: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (pid === process.pid || !(await isAlive(pid))) await removeTree(join(cacheDir, name))
  }
}

/** Builds the template ahead of the first prepare (called when the node starts). */
export async function warmPostgresql(node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<void> {
  await ensureTemplate(node.cacheDir, node.version, node.account)
}
