/**
 * The node-wide cache of pre-initialised data folders ("templates"), engine-agnostic: a new
 * instance starts as a copy, several times faster than initialising one (shared/ENGINE-NOTES.md).
 *
 * Layout: `<cacheDir>/<name>/{data/, secret.json, READY}`. A template is built in a temporary
 * sibling folder `<name>.tmp-<pid>-<random>` and renamed into place complete, READY inside, so a
 * crash never leaves a half template that looks finished; leftovers of dead builders are removed.
 */
import { randomBytes } from 'node:crypto'
import { access, chmod, mkdir, readdir, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import type { OsAccount } from '../datastore.js'
import { chownTree, copyTree, removeTree, syncDir, syncFileSystem, writeFileAtomic } from './files.js'
import { isAlive } from './process.js'
import { readSecret, writeSecret } from './secrets.js'

/** A ready template. */
export interface EngineTemplate {
  /** Data folder to copy (`cp -a`); owned by the account it was built for. */
  readonly dataDir: string
  /** Password of the service account inside the template. */
  readonly password: string
  /** Owner of `dataDir`, so a copy can tell whether it must change owners. */
  readonly uid: number
}

/** What one engine's template is and how to make it. */
export interface TemplateSpec {
  /** Folder under cacheDir, unique per engine and version, e.g. `postgresql-15`. */
  readonly name: string
  /** The engine as error messages name it, e.g. `PostgreSQL`. */
  readonly engine: string
  /** The engine's full version, written into READY. */
  readonly versionNumber: string
  /**
   * Initialises `<tmp>/data` and resolves the service account's password in it. `tmp` belongs to
   * Coffer, mode 0711: the engine's account only passes through. Rejecting fails the build.
   */
  readonly build: (tmp: string) => Promise<string>
}

const building = new Map<string, Promise<EngineTemplate>>()

/**
 * The node's template `spec.name` in `cacheDir`, built first when missing. Calls in this process
 * share one build; a failed build is retried on the next call. When another Coffer process on the
 * node builds the same template at the same time, whichever renames first wins; both use it.
 */
export function cachedTemplate(cacheDir: string, spec: TemplateSpec): Promise<EngineTemplate> {
  const key = `${cacheDir}\0${spec.name}`
  let p = building.get(key)
  if (!p) {
    p = readyTemplate(cacheDir, spec)
    building.set(key, p)
    p.catch(() => building.delete(key))
  }
  return p
}

/** Copies a template's data folder to `dest` (which must not exist), given to `account` unless the template is already its own. */
export async function copyTemplate(template: EngineTemplate, dest: string, account: OsAccount): Promise<void> {
  await copyTree(template.dataDir, dest)
  if (template.uid !== account.uid) await chownTree(dest, account)
}

async function readyTemplate(cacheDir: string, spec: TemplateSpec): Promise<EngineTemplate> {
  const dir = join(cacheDir, spec.name)
  const found = await readTemplate(dir)
  if (found) return found
  // Only a rename creates `dir`, READY inside: without READY it is not ours to trust.
  await removeTree(dir)
  await mkdir(cacheDir, { recursive: true })
  await removeDeadBuilds(cacheDir, `${spec.name}.tmp-`)
  const tmp = join(cacheDir, `${spec.name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await build(tmp, spec)
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
  if (!made) throw new CofferError('ENGINE_START_FAILED', `The ${spec.engine} template is incomplete after being built.`, { details: dir })
  return made
}

async function readTemplate(dir: string): Promise<EngineTemplate | undefined> {
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

async function build(tmp: string, spec: TemplateSpec): Promise<void> {
  await mkdir(tmp, { mode: 0o711 })
  await chmod(tmp, 0o711)
  const password = await spec.build(tmp)
  await writeSecret(tmp, 'secret', { password })
  // Initialisers skip most fsyncs: flush once here, so every copy starts from data on disk.
  await syncFileSystem(tmp)
  await writeFileAtomic(join(tmp, 'READY'), `${spec.versionNumber}\n`, { mode: 0o644, durable: true })
}

// Builders leave `<prefix><pid>-<random>` behind when they crash; this process's own leftovers are dead too.
async function removeDeadBuilds(cacheDir: string, prefix: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (pid === process.pid || !(await isAlive(pid))) await removeTree(join(cacheDir, name))
  }
}
