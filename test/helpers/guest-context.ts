/**
 * A temporary home for the tests that drive one datastore's guest code against a real engine:
 * instance contexts laid out the way a node lays them out, and a clean-up that leaves no engine
 * and no folder behind, whatever failed.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { DatastoreVersionInfo } from '../../src/core/manifest.js'
import { removeTree } from '../../src/guest/datastores/common/files.js'
import { resolveOsAccount, runningAsRoot } from '../../src/guest/datastores/common/os-account.js'
import { isAlive, signalUntilExit } from '../../src/guest/datastores/common/process.js'
import type { Datastore, InstanceContext, OsAccount } from '../../src/guest/datastores/datastore.js'

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer().once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

/** Processes other than this one whose command line names `text` (a leftover engine would). */
export async function processesNaming(text: string): Promise<number[]> {
  const found: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(text)) found.push(Number(name))
  }
  return found
}

/** A temporary home and the instance contexts made in it. */
export interface GuestHome {
  /** The folder, `/tmp/coffer-<label>-test-XXXXXX`, mode 0711 so the engine's account can pass through. */
  readonly home: string
  /** The datastore's OS account: the engine runs as it when the test runs as root. */
  readonly account: OsAccount
  /** The first instance, made by makeGuestHome under `<home>/main`. */
  readonly ctx: InstanceContext
  /**
   * Another instance under `<home>/<name>` (mode 0711): volume/ and run/ owned by the account,
   * mode 0700; guest/ mode 0700; the cache `<home>/cache` (0711) shared by all; a free port;
   * a 512 MB, 1 vCPU flavor; `account` as both the instance's and the node's account.
   */
  newContext(name: string, instanceId: string): Promise<InstanceContext>
  /**
   * Stops every process whose command line names a path in home (an instance's engine or a
   * throwaway in the cache): the stop signal, up to 10 s, then SIGKILL. Then removes home.
   */
  cleanup(): Promise<void>
}

export interface GuestHomeOptions {
  /** Names the folder. */
  readonly label: string
  /** The first instance's id. */
  readonly instanceId: string
  /** What a leftover engine is stopped with first. Default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals
}

/** Makes a temporary home for `datastore`'s guest at `version`, with its first instance context. */
export async function makeGuestHome(datastore: Datastore, version: DatastoreVersionInfo, options: GuestHomeOptions): Promise<GuestHome> {
  const home = await mkdtemp(`/tmp/coffer-${options.label}-test-`)
  const stopSignal = options.stopSignal ?? 'SIGTERM'
  const cleanup = async (): Promise<void> => {
    for (const pid of await processesNaming(`${home}/`)) {
      if (await isAlive(pid)) await signalUntilExit(pid, [[stopSignal, 10_000], ['SIGKILL', 5_000]])
    }
    await removeTree(home)
  }
  const dir = async (path: string, mode: number, owner?: OsAccount): Promise<string> => {
    await mkdir(path, { mode })
    await chmod(path, mode)
    if (owner && runningAsRoot()) await chown(path, owner.uid, owner.gid)
    return path
  }
  try {
    await chmod(home, 0o711)
    const account = await resolveOsAccount(datastore.osAccountName)
    const cacheDir = await dir(join(home, 'cache'), 0o711)
    const newContext = async (name: string, instanceId: string): Promise<InstanceContext> => {
      const base = await dir(join(home, name), 0o711)
      return {
        instanceId,
        version,
        volumeDir: await dir(join(base, 'volume'), 0o700, account),
        runDir: await dir(join(base, 'run'), 0o700, account),
        guestDir: await dir(join(base, 'guest'), 0o700),
        cacheDir,
        bindAddress: '127.0.0.1',
        port: await freePort(),
        flavor: { ramMb: 512, vcpus: 1 },
        account,
        nodeAccount: account,
      }
    }
    return { home, account, ctx: await newContext('main', options.instanceId), newContext, cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
