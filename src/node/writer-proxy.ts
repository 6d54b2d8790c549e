/**
 * The node's HAProxy, which gives each replica set whose source is on this node its writer
 * address: one TCP frontend per set, its one backend server the set's current source. HAProxy runs
 * in master-worker mode (`-W`), detached, so it outlives the node process as engines do; the master
 * stays root to read its configuration, which lies in a root-only folder of the home, and its
 * worker drops to the `haproxy` account. What it should serve is kept in `frontends.json` beside the
 * rendered configuration, so a node starting again serves the same addresses without asking anyone.
 *
 * A frontend added or removed is a reload (SIGUSR2 to the master): connections of the other sets
 * are left alone. A backend switched (promote, failover) is a runtime change through the worker's
 * admin socket: the server is put in maintenance, its sessions (to the old, fenced source) are
 * shut, and it comes back on the new address; nothing lingers writing to the old source.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { mkdir, open, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errorMessage } from '../core/errors.js'
import { writeFileAtomic } from '../guest/datastores/common/files.js'
import { serialised } from '../guest/datastores/common/serialise.js'
import type { WriterChange, WriterFrontend } from '../guest/protocol.js'

export interface WriterProxyOptions {
  /** A folder of the node's home only root may enter: configuration, sockets, pid and log. */
  readonly dir: string
  readonly log: (msg: string) => void
  /** The account HAProxy's worker runs as (Debian's package makes `haproxy`). */
  readonly user?: string
}

/** How long a started or reloaded HAProxy is given to listen on (or let go of) its addresses. */
const LISTEN_MS = 5_000

export class WriterProxy {
  readonly #o: WriterProxyOptions
  #frontends: WriterFrontend[] | undefined
  #watch: NodeJS.Timeout | undefined

  constructor(o: WriterProxyOptions) {
    this.#o = o
  }

  get #config(): string {
    return join(this.#o.dir, 'haproxy.cfg')
  }

  get #pidFile(): string {
    return join(this.#o.dir, 'haproxy.pid')
  }

  get #adminSocket(): string {
    return join(this.#o.dir, 'admin.sock')
  }

  /** What this node's HAProxy should serve, as last recorded. */
  async frontends(): Promise<readonly WriterFrontend[]> {
    if (!this.#frontends) {
      const text = await readFile(join(this.#o.dir, 'frontends.json'), 'utf8').catch(() => '[]')
      this.#frontends = JSON.parse(text) as WriterFrontend[]
    }
    return this.#frontends
  }

  /**
   * Serves `f.address:f.port`, forwarding to `f.target`: a new frontend, or the backend of one
   * already there switched. Resolves with how long the switch took (ms), once HAProxy listens.
   */
  set(f: WriterFrontend): Promise<WriterChange> {
    return this.#serialised(async () => {
      const started = performance.now()
      const all = await this.frontends()
      const old = all.find((x) => sameAddress(x, f))
      if (old && old.target.host === f.target.host && old.target.port === f.target.port) {
        await this.#ensureRunning()
        return { changed: false, ms: Math.round(performance.now() - started) }
      }
      await this.#record([...all.filter((x) => !sameAddress(x, f)), f])
      const master = await this.#master()
      if (master === undefined) await this.#start()
      else if (!old) await this.#reload(master, [f], [])
      else if (!(await this.#switch(f))) {
        // No admin socket to change it at run time: a full restart, so no session to the old source survives.
        this.#o.log(`writer ${f.address}:${f.port}: switching at run time failed; restarting HAProxy`)
        await this.#stop()
        await this.#start()
      }
      return { changed: true, ms: Math.round(performance.now() - started) }
    })
  }

  /** Stops serving `address:port`; HAProxy itself stops once no frontend is left. */
  remove(address: string, port: number): Promise<void> {
    return this.#serialised(async () => {
      const all = await this.frontends()
      const gone = all.filter((x) => sameAddress(x, { address, port }))
      if (gone.length === 0) return
      const left = all.filter((x) => !sameAddress(x, { address, port }))
      await this.#record(left)
      const master = await this.#master()
      if (left.length === 0) await this.#stop()
      else if (master !== undefined) await this.#reload(master, [], gone)
    })
  }

  /** Starts HAProxy when it should run and does not (the node starting, or HAProxy found dead). */
  ensureRunning(): Promise<void> {
    return this.#serialised(() => this.#ensureRunning())
  }

  /** Every `intervalMs`, starts HAProxy again when it should run and has died. */
  startWatch(intervalMs: number): void {
    this.stopWatch()
    this.#watch = setInterval(() => {
      this.ensureRunning().catch((err) => this.#o.log(`writer proxy: could not start HAProxy again: ${errorMessage(err)}`))
    }, intervalMs)
    this.#watch.unref()
  }

  stopWatch(): void {
    if (this.#watch) clearInterval(this.#watch)
    this.#watch = undefined
  }

  /** Stops HAProxy, keeping what it should serve: it starts again with the node (`coffer shutdown --all`). */
  stop(): Promise<void> {
    return this.#serialised(() => this.#stop())
  }

  /** Stops HAProxy and removes its folder (`coffer uninstall`). */
  destroy(): Promise<void> {
    return this.#serialised(async () => {
      await this.#stop()
      this.#frontends = []
      await rm(this.#o.dir, { recursive: true, force: true })
    })
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    return serialised(`writer-proxy:${this.#o.dir}`, fn)
  }

  async #ensureRunning(): Promise<void> {
    if ((await this.frontends()).length === 0) return
    if ((await this.#master()) !== undefined) return
    this.#o.log('writer proxy: HAProxy is not running; starting it')
    await this.#start()
  }

  async #record(frontends: WriterFrontend[]): Promise<void> {
    await mkdir(this.#o.dir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(join(this.#o.dir, 'frontends.json'), JSON.stringify(frontends, null, 2), { mode: 0o600 })
    await writeFileAtomic(this.#config, renderConfig(frontends, this.#adminSocket, this.#o.user ?? 'haproxy'), { mode: 0o600 })
    this.#frontends = frontends
  }

  async #start(): Promise<void> {
    const frontends = await this.frontends()
    if (frontends.length === 0) return
    // Left over from a HAProxy whose master was killed: its worker could still hold the addresses.
    await this.#killLeftovers()
    await rm(this.#adminSocket, { force: true })
    const log = await open(join(this.#o.dir, 'haproxy.log'), 'a', 0o600)
    try {
      const child = spawn('haproxy', ['-W', '-f', this.#config, '-p', this.#pidFile], { detached: true, stdio: ['ignore', log.fd, log.fd] })
      const exited = new Promise<number | null>((res) => {
        child.once('exit', (code) => res(code))
        child.once('error', () => res(-1))
      })
      child.unref()
      const listening = Promise.all(frontends.map((f) => waitFor(() => accepts(f.address, f.port), LISTEN_MS)))
      const ended = await Promise.race([listening.then(() => undefined), exited])
      if (ended !== undefined) throw new Error(`HAProxy exited (${ended}) at start: ${await this.#logTail()} Is Debian's haproxy package installed (scripts/install-system-deps.sh)?`)
      const ok = await listening
      if (!ok.every(Boolean)) throw new Error(`HAProxy did not listen on every writer address within ${LISTEN_MS / 1000} s: ${await this.#logTail()}`)
    } finally {
      await log.close()
    }
  }

  /** The master's pid when it runs (the pid file names it, and it is an HAProxy of this folder's configuration). */
  async #master(): Promise<number | undefined> {
    const pid = Number((await readFile(this.#pidFile, 'utf8').catch(() => '')).trim())
    return pid > 0 && (await runsConfig(pid, this.#config)) ? pid : undefined
  }

  /** SIGUSR2: the master reads the configuration again and starts a new worker; the old one serves its sessions out. */
  async #reload(master: number, added: readonly WriterFrontend[], removed: readonly WriterFrontend[]): Promise<void> {
    process.kill(master, 'SIGUSR2')
    const ok = await Promise.all([
      ...added.map((f) => waitFor(() => accepts(f.address, f.port), LISTEN_MS)),
      ...removed.map((f) => waitFor(async () => !(await accepts(f.address, f.port)), LISTEN_MS)),
    ])
    if (!ok.every(Boolean)) throw new Error(`HAProxy did not take its new configuration within ${LISTEN_MS / 1000} s: ${await this.#logTail()}`)
  }

  /** Points a frontend's server at its new target at run time; false when the admin socket cannot be used. */
  async #switch(f: WriterFrontend): Promise<boolean> {
    const server = `${backendName(f)}/source`
    const commands = [`disable server ${server}`, `shutdown sessions server ${server}`, `set server ${server} addr ${f.target.host} port ${f.target.port}`, `enable server ${server}`]
    try {
      const answer = await adminCommand(this.#adminSocket, commands.join('; '))
      const problem = answer.split('\n').find((l) => /unknown|no such|not found|error|require/i.test(l))
      if (problem) {
        this.#o.log(`writer ${f.address}:${f.port}: HAProxy answered: ${problem}`)
        return false
      }
      return true
    } catch (err) {
      this.#o.log(`writer ${f.address}:${f.port}: HAProxy's admin socket: ${errorMessage(err)}`)
      return false
    }
  }

  async #stop(): Promise<void> {
    const master = await this.#master()
    if (master !== undefined) {
      // SIGTERM: a hard stop, the worker's sessions closed with it.
      process.kill(master, 'SIGTERM')
      if (!(await waitFor(async () => !(await runsConfig(master, this.#config)), LISTEN_MS))) process.kill(master, 'SIGKILL')
    }
    await this.#killLeftovers()
    await rm(this.#pidFile, { force: true })
  }

  /** Kills any process still running this folder's configuration (a worker whose master was killed). */
  async #killLeftovers(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const left = await processesRunning(this.#config)
      if (left.length === 0) return
      for (const pid of left) {
        try {
          process.kill(pid, round < 10 ? 'SIGTERM' : 'SIGKILL')
        } catch {
          // gone already
        }
      }
      await sleep(50)
    }
  }

  async #logTail(): Promise<string> {
    const text = await readFile(join(this.#o.dir, 'haproxy.log'), 'utf8').catch(() => '')
    return text.trim().split('\n').slice(-5).join(' | ') || '(nothing in its log)'
  }
}

const sameAddress = (a: Pick<WriterFrontend, 'address' | 'port'>, b: Pick<WriterFrontend, 'address' | 'port'>): boolean => a.address === b.address && a.port === b.port

const backendName = (f: Pick<WriterFrontend, 'address' | 'port'>): string => `writer_${f.address.replaceAll('.', '_')}_${f.port}`

/** HAProxy's configuration for these frontends: TCP, one server per backend (the current source). */
export function renderConfig(frontends: readonly WriterFrontend[], adminSocket: string, user: string): string {
  const lines = [
    '# Written by Coffer (the writer addresses of replica sets); changed at every promote and failover.',
    'global',
    `  user ${user}`,
    `  group ${user}`,
    `  stats socket ${adminSocket} mode 600 level admin`,
    '  log stderr format short local0 warning',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  timeout connect 2s',
    // Database sessions sit idle for long; TCP keepalives find the dead ones.
    '  timeout client 24h',
    '  timeout server 24h',
    '  option clitcpka',
    '  option srvtcpka',
  ]
  for (const f of frontends) {
    const name = backendName(f)
    lines.push('', `frontend ${name}`, `  bind ${f.address}:${f.port}`, `  default_backend ${name}`)
    lines.push('', `backend ${name}`, `  server source ${f.target.host}:${f.target.port}`)
  }
  return `${lines.join('\n')}\n`
}

/** One line of commands on HAProxy's admin socket; resolves with its answer. */
function adminCommand(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket)
    let answer = ''
    s.setTimeout(LISTEN_MS, () => s.destroy(new Error('no answer')))
    s.on('connect', () => s.end(`${line}\n`))
    s.on('data', (d) => (answer += d.toString()))
    s.on('error', reject)
    s.on('close', () => resolve(answer))
  })
}

/** Whether something accepts TCP connections on address:port now. */
function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port })
    s.setTimeout(500, () => s.destroy())
    s.on('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
    s.on('close', () => resolve(false))
  })
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(10)
  }
}

/** Whether `pid` is a live (not zombie) HAProxy run with this configuration file. */
async function runsConfig(pid: number, config: string): Promise<boolean> {
  try {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.[0]
    return state !== 'Z' && cmd.split('\0').includes(config)
  } catch {
    return false
  }
}

async function processesRunning(config: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (/^\d+$/.test(name) && (await runsConfig(Number(name), config))) pids.push(Number(name))
  }
  return pids
}
