/**
 * What `coffer shutdown --all` and `coffer uninstall` do to a home that no server runs on: the
 * local node's agent, made from the home's spec files alone (as a node's start does), with no
 * control plane and no state store. The home's lock is held meanwhile, so no `coffer serve`
 * starts in between.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile, readlink, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { removeStrayAccounts } from './compute/local/accounts.js'
import { LocalComputeDriver } from './compute/local/local-compute-driver.js'
import { datastores } from './guest/datastores/index.js'
import { NodeAgent } from './node/node-agent.js'
import { lockHome } from './private-home.js'

const run = promisify(execFile)

async function withAgent<T>(home: string, log: (msg: string) => void, fn: (agent: NodeAgent) => Promise<T>): Promise<T> {
  const lock = await lockHome(home, `coffer (pid ${process.pid}, no API)`)
  try {
    const agent = new NodeAgent({ name: 'local', bind: '127.0.0.1', compute: new LocalComputeDriver(home, '127.0.0.1'), datastores, log })
    await agent.discover()
    return await fn(agent)
  } finally {
    await lock.release()
  }
}

/** Stops every engine of `home`; they start again at the next `coffer serve`. Resolves with their ids. */
export function stopEnginesOfHome(home: string, log: (msg: string) => void): Promise<string[]> {
  return withAgent(home, log, (agent) => agent.stopEngines((id) => log(`instance ${id}: engine stopped`)))
}

/**
 * Removes everything of `home`: every instance and spare (engine, folder, OS account), any OS
 * account the home made that has no folder any more, any process still running under it, and
 * the folder itself. Resolves with how many instances and accounts went.
 */
export async function uninstallHome(home: string, log: (msg: string) => void): Promise<{ instances: number; accounts: number }> {
  const dir = resolve(home)
  const instances = await withAgent(dir, log, (agent) => agent.destroyAll((id) => log(`instance ${id}: removed`)))
  // A template build, or an engine whose spec file a crash never wrote, may still run there.
  for (let round = 0; round < 50; round++) {
    const left = await processesUnder(dir)
    if (left.length === 0) break
    for (const pid of left) {
      try {
        process.kill(pid, round < 20 ? 'SIGTERM' : 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const accounts = await removeStrayAccounts(dir, async () => false)
  for (const id of accounts) log(`OS account of instance ${id}: removed`)
  await run('rm', ['-rf', '--one-file-system', '--', dir])
  return { instances: instances.length, accounts: accounts.length }
}

/** Pids of processes whose command line names `dir` or whose working folder lies under it. */
export async function processesUnder(dir: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8')
      const cwd = await readlink(`/proc/${name}/cwd`).catch(() => '')
      const state = (await readFile(`/proc/${name}/stat`, 'utf8')).split(') ')[1]?.[0]
      if (state !== 'Z' && (cmd.split('\0').some((a) => a === dir || a.startsWith(`${dir}/`) || a.includes(`=${dir}/`)) || cwd === dir || cwd.startsWith(`${dir}/`))) pids.push(Number(name))
    } catch {
      // ended while we looked
    }
  }
  return pids
}

export const homeExists = (home: string): Promise<boolean> => stat(home).then((s) => s.isDirectory(), () => false)
