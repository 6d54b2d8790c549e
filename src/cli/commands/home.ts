/**
 * Commands that act on a home as a whole, on this machine: `stop` (the server only), `shutdown
 * --all` (every engine too) and `uninstall` (everything). A server running on the home is asked
 * through its API (`POST /mgmt/shutdown`, with the admin login the home keeps) or sent SIGTERM;
 * with none running, the home's engines are reached directly (src/offline-home.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline/promises'
import type { Command } from 'commander'
import { parse, stringify } from 'yaml'
import { resolveSettings } from '../../config.js'
import { serverOnHome } from '../../private-home.js'
import { CofferClient } from '../client.js'
import { cloudIn } from '../credentials.js'

export const HOME_HELP = 'the home (default: $COFFER_HOME or ~/.local/share/coffer)'
const say = (msg: string) => console.log(msg)

async function existingHome(flag: string | undefined): Promise<string> {
  const { home } = resolveSettings({ ...(flag ? { home: flag } : {}) })
  if (!existsSync(home)) throw new Error(`no Coffer home at ${home} (give --home, or set COFFER_HOME)`)
  return home
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Waits for `pid` to exit, printing a dot a second; throws after `timeoutMs`. */
async function waitForExit(pid: number, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  process.stdout.write(`waiting for ${what}`)
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`\nthe server (pid ${pid}) is still running after ${timeoutMs / 1000} s; see its log`)
    await new Promise((r) => setTimeout(r, 1000))
    process.stdout.write('.')
  }
  process.stdout.write(' done\n')
}

/** Asks the server on `home` to stop every engine and itself, and waits until it has. */
async function shutdownThroughServer(home: string, server: { pid: number; url: string }): Promise<void> {
  const cloud = cloudIn(join(home, 'clouds.yaml'), 'coffer')
  if (!cloud) throw new Error(`${join(home, 'clouds.yaml')} has no 'coffer' cloud to log in with; stop the server (coffer stop), then run this again`)
  const client = new CofferClient({ ...cloud, authUrl: `${server.url}/v3` })
  await client.request('POST', '/mgmt/shutdown')
  say(`The server (pid ${server.pid}, ${server.url}) is stopping every engine of ${home}, then itself.`)
  await waitForExit(server.pid, 'it to finish')
}

async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes'
  } finally {
    rl.close()
  }
}

/**
 * Takes the `coffer` cloud out of ~/.config/openstack/clouds.yaml when it is this home's (same
 * login URL as the home's own clouds.yaml): left there, it would point at a server that is gone.
 */
function forgetUserCloud(home: string): string | undefined {
  const mine = cloudIn(join(home, 'clouds.yaml'), 'coffer')
  const file = join(homedir(), '.config', 'openstack', 'clouds.yaml')
  const theirs = cloudIn(file, 'coffer')
  if (!mine || !theirs || theirs.authUrl !== mine.authUrl) return undefined
  const doc = parse(readFileSync(file, 'utf8')) as { clouds: Record<string, unknown> }
  delete doc.clouds.coffer
  writeFileSync(file, stringify(doc), { mode: 0o600 })
  return file
}

/** `coffer stop` with no instance: stops the server running on the home; its databases keep running. */
export async function stopServer(homeFlag: string | undefined): Promise<void> {
  const home = await existingHome(homeFlag)
  const server = await serverOnHome(home)
  if (!server) return say(`No coffer serve runs on ${home}.`)
  process.kill(server.pid, 'SIGTERM')
  await waitForExit(server.pid, `the server (pid ${server.pid}) to stop`)
  say('Stopped. The databases keep running; `coffer shutdown --all` stops them too.')
}

export function homeCommands(program: Command): void {
  program
    .command('shutdown')
    .description('Stop every database engine of the home and the server; `coffer serve` starts them all again')
    .option('--all', 'stop every engine of the home (required: says you mean it)')
    .option('--home <dir>', HOME_HELP)
    .action(async (o: { all?: boolean; home?: string }) => {
      if (!o.all) throw new Error('shutdown stops every database of the home: give --all to do so (`coffer stop` or Ctrl-C stops only the server)')
      const home = await existingHome(o.home)
      const server = await serverOnHome(home)
      if (server) await shutdownThroughServer(home, server)
      else {
        say(`No server runs on ${home}: stopping its engines directly.`)
        const { stopEnginesOfHome } = await import('../../offline-home.js')
        const stopped = await stopEnginesOfHome(home, say)
        say(`${stopped.length} engine(s) stopped.`)
      }
      say('Every engine of the home is stopped. `coffer serve` starts them again.')
    })

  program
    .command('uninstall')
    .description('Delete every instance, spare, OS account and the home itself, with all their data')
    .option('--yes', 'do not ask for confirmation')
    .option('--home <dir>', HOME_HELP)
    .action(async (o: { yes?: boolean; home?: string }) => {
      const home = await existingHome(o.home)
      const question = `This deletes every instance and spare of ${home} with all their data, their OS accounts, and the home itself. Type 'yes' to go on: `
      if (!o.yes && !(await confirmed(question))) {
        throw new Error(process.stdin.isTTY ? 'not confirmed; nothing was deleted' : 'uninstall deletes everything of the home: run it in a terminal to confirm, or give --yes')
      }
      const server = await serverOnHome(home)
      if (server) await shutdownThroughServer(home, server)
      say(`Removing every instance of ${home}…`)
      const { uninstallHome } = await import('../../offline-home.js')
      const cloudsFile = forgetUserCloud(home)
      const gone = await uninstallHome(home, say)
      if (cloudsFile) say(`Took the 'coffer' cloud out of ${cloudsFile}.`)
      say(`Removed ${gone.instances} instance(s), ${gone.accounts} leftover OS account(s) and ${home}. Coffer's code (this folder) stays; delete it yourself if you wish.`)
    })
}
