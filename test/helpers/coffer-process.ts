/**
 * Starts a real `coffer serve` process on a fresh home folder and free ports, for tests that need
 * the whole server (and that kill it with SIGKILL). Cleans up every engine it left running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { accountName } from '../../src/compute/local/accounts.js'

export const ROOT = resolve(import.meta.dirname, '..', '..', '..')
export const COFFER_BIN = join(ROOT, 'bin', 'coffer')
export const ADMIN_PASSWORD = 'test-admin-Passw0rd'

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => done(port))
    })
  })
}

export interface CofferProcess {
  readonly home: string
  /** The server's HOME: it writes the `coffer` cloud into its .config/openstack/clouds.yaml, never into the real one. */
  readonly userHome: string
  readonly url: string
  readonly port: number
  /** The instance address pool it runs with (COFFER_INSTANCE_NETWORK): a loopback /16 of its own unless one was given. */
  readonly instanceNetwork: string
  child: ChildProcess
  output(): string
  /** Starts the server again on the same home and port (after a kill). */
  restart(extraEnv?: Record<string, string>): Promise<void>
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Stops the server and every engine process under its home, and removes the home. */
  destroy(): Promise<void>
}

export async function startCoffer(extraEnv: Record<string, string> = {}): Promise<CofferProcess> {
  const home = mkdtempSync('/tmp/coffer-test-')
  const userHome = mkdtempSync('/tmp/coffer-test-user-')
  const port = await freePort()
  const instancePortFirst = 30000 + Math.floor(Math.random() * 20000)
  // A loopback pool of its own: test files run side by side, and one that checks an address it
  // freed is left alone must not see another server's instance take it.
  const instanceNetwork = extraEnv.COFFER_INSTANCE_NETWORK ?? `127.${120 + Math.floor(Math.random() * 130)}.0.0/16`
  let out = ''
  const env = (more: Record<string, string>) => ({
    ...process.env,
    HOME: userHome,
    COFFER_HOME: home,
    COFFER_ADMIN_PASSWORD: ADMIN_PASSWORD,
    COFFER_HEARTBEAT_MS: '500',
    COFFER_INSTANCE_PORT_FIRST: String(instancePortFirst),
    COFFER_INSTANCE_PORT_LAST: String(instancePortFirst + 500),
    COFFER_INSTANCE_NETWORK: instanceNetwork,
    // Tests that count an instance's processes, accounts and folders want no spares beside them;
    // test/spares.test.ts turns them on.
    COFFER_SPARES: 'none',
    ...more,
  })
  const launch = async (more: Record<string, string>): Promise<ChildProcess> => {
    const child = spawn(COFFER_BIN, ['serve', '--port', String(port), '--bind', '127.0.0.1'], { env: env(more), stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    await waitUntilListening(`http://127.0.0.1:${port}/`, child, () => out)
    return child
  }
  const p: CofferProcess = {
    home,
    userHome,
    port,
    instanceNetwork,
    url: `http://127.0.0.1:${port}`,
    child: await launch(extraEnv),
    output: () => out,
    async restart(more = {}) {
      p.child = await launch(more)
    },
    async kill(signal = 'SIGKILL') {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return
      const exited = new Promise((r) => p.child.once('exit', r))
      p.child.kill(signal)
      await exited
    },
    async destroy() {
      await p.kill('SIGTERM')
      // A background job (a template build) may start a new process while we kill the last one.
      for (let round = 0; round < 50 && processesUnder(home).length > 0; round++) {
        killProcessesUnder(home)
        await new Promise((r) => setTimeout(r, 100))
      }
      releaseMountsAndCgroups(home)
      removeInstanceAccounts(home)
      rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
      rmSync(userHome, { recursive: true, force: true })
    },
  }
  return p
}

async function waitUntilListening(url: string, child: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`coffer serve exited with ${child.exitCode}:\n${out()}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`coffer serve did not listen within 60 s:\n${out()}`)
}

/**
 * Instances a test did not delete through the API keep their loop-mounted volume and their
 * cgroups: unmount and detach them (their engines are stopped by now) before the home goes.
 */
export function releaseMountsAndCgroups(home: string): void {
  if (process.getuid?.() !== 0) return
  let ids: string[] = []
  try {
    ids = readdirSync(join(home, 'instances'))
  } catch {
    return
  }
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
  for (const id of ids) {
    const volume = join(home, 'instances', id, 'volume')
    if (mounted.includes(` ${volume} `)) execFileSync('umount', ['-l', volume], { stdio: 'ignore' })
    const image = join(home, 'instances', id, 'volume.img')
    for (const line of execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).split('\n')) {
      if (line.includes(':')) execFileSync('losetup', ['-d', line.slice(0, line.indexOf(':'))], { stdio: 'ignore' })
    }
    for (const dir of [`/sys/fs/cgroup/memory/coffer/${id}`, `/sys/fs/cgroup/cpu/coffer/${id}`, `/sys/fs/cgroup/coffer/${id}`]) {
      try {
        rmdirSync(dir)
      } catch {
        // none, or not on this host
      }
    }
  }
}

/**
 * Instances a test did not delete through the API still have their OS accounts (`coffer-<id>`);
 * remove them with the home, or repeated runs would use up the system account range.
 */
function removeInstanceAccounts(home: string): void {
  if (process.getuid?.() !== 0) return
  let ids: string[] = []
  try {
    ids = readdirSync(join(home, 'instances'))
  } catch {
    return
  }
  for (const id of ids) {
    try {
      execFileSync('userdel', [accountName(id)], { stdio: 'ignore' })
    } catch {
      // never made, or already gone
    }
  }
}

/** Pids of processes whose working folder or command line lies under `dir` (engines of that home). */
export function processesUnder(dir: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      let cwd = ''
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`)
      } catch {
        // gone or not ours to read
      }
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0]
      if (state !== 'Z' && (cmd.includes(dir) || cwd.startsWith(dir))) pids.push(Number(name))
    } catch {
      // the process ended while we looked
    }
  }
  return pids.filter((pid) => pid !== process.pid)
}

/**
 * Engine main processes under `dir`: the ones whose command line names it (the postmaster, not its
 * backends and workers, which come and go).
 */
export const engineMains = (dir: string): number[] => processesUnder(dir).filter((pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)
  } catch {
    return false
  }
})

export function killProcessesUnder(dir: string): void {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
