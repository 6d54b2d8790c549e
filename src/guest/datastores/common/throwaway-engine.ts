/**
 * A throwaway engine, engine-agnostic: a copy of the node's template started in a temporary folder
 * under cacheDir, with no TCP, to read something only a running engine can say (a parameter
 * catalog), then stopped and removed. A crashed Coffer leaves `<prefix><pid>-<random>` behind,
 * perhaps with its engine still running: the next read stops that engine and removes the folder.
 */
import { randomBytes } from 'node:crypto'
import { chown, mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { OsAccount } from '../datastore.js'
import { removeTree } from './files.js'
import { runningAsRoot } from './os-account.js'
import { isAlive, procStat, signalUntilExit, type StopSteps } from './process.js'
import { copyTemplate, type EngineTemplate } from './template-cache.js'

/** The throwaway's folders. */
export interface ThrowawayFolders {
  /** The temporary folder; owned by Coffer, mode 0711. For the engine's console log, say. */
  readonly dir: string
  /** `<dir>/data`: a copy of the template, owned by the engine's account. */
  readonly dataDir: string
  /** `<dir>/run`: for the engine's socket and pid file; owned by the engine's account, mode 0700. */
  readonly runDir: string
}

/** One engine's throwaway. */
export interface ThrowawaySpec<T> {
  readonly cacheDir: string
  /** Starts the folder's name; one per engine and version. */
  readonly prefix: string
  readonly template: EngineTemplate
  readonly account: OsAccount
  /** The engine's process name (`comm`), to recognise a leftover's engine. */
  readonly processName: string
  /** Path of the engine's pid file relative to the folder, pid on the first line (`data/postmaster.pid`). */
  readonly pidFile: string
  /** How to stop the engine; a throwaway needs no clean shutdown. */
  readonly stopSteps: StopSteps
  /** Starts the engine on the folders, unix socket only, and resolves its pid at once. */
  readonly start: (folders: ThrowawayFolders) => Promise<number>
  /** Waits for the engine `pid` to be ready, then reads what is wanted. */
  readonly read: (folders: ThrowawayFolders, pid: number) => Promise<T>
}

/**
 * Runs a throwaway engine and resolves what `spec.read` read; by then the engine is stopped and
 * its folder removed, whether the read succeeded or not. Leftovers of crashed Coffer processes
 * are cleaned up first. Run one at a time per prefix in a process (the callers memoise their
 * reads): this process's own leftovers with the same prefix are taken as dead.
 */
export async function readFromThrowaway<T>(spec: ThrowawaySpec<T>): Promise<T> {
  await removeDeadThrowaways(spec)
  const dir = join(spec.cacheDir, `${spec.prefix}${process.pid}-${randomBytes(4).toString('hex')}`)
  const folders: ThrowawayFolders = { dir, dataDir: join(dir, 'data'), runDir: join(dir, 'run') }
  let pid: number | undefined
  try {
    // Coffer owns dir; the engine's account passes through to data/ (a copy it owns) and run/.
    await mkdir(dir, { mode: 0o711 })
    await mkdir(folders.runDir, { mode: 0o700 })
    if (runningAsRoot()) await chown(folders.runDir, spec.account.uid, spec.account.gid)
    await copyTemplate(spec.template, folders.dataDir, spec.account)
    pid = await spec.start(folders)
    return await spec.read(folders, pid)
  } finally {
    if (pid !== undefined) await signalUntilExit(pid, spec.stopSteps)
    await removeTree(dir)
  }
}

async function removeDeadThrowaways(spec: ThrowawaySpec<unknown>): Promise<void> {
  for (const name of await readdir(spec.cacheDir)) {
    if (!name.startsWith(spec.prefix)) continue
    const owner = Number(name.slice(spec.prefix.length).split('-')[0])
    if (owner !== process.pid && (await isAlive(owner))) continue
    const dir = join(spec.cacheDir, name)
    const pid = Number((await readFile(join(dir, spec.pidFile), 'utf8').catch(() => '')).split('\n')[0])
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (pid > 1 && (await procStat(pid))?.comm === spec.processName && cmdline.includes(dir)) await signalUntilExit(pid, spec.stopSteps)
    await removeTree(dir)
  }
}
