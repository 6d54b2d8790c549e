/**
 * Engine processes, engine-agnostic. Engines run detached from Coffer (own process group, no
 * stdio pipes, not waited for), so stopping or crashing Coffer never stops a database. They run as
 * their OS account when Coffer is root, with a minimal environment so none of Coffer's own
 * settings or secrets leak into them.
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { OsAccount } from '../datastore.js'
import { runningAsRoot } from './os-account.js'

const execFileP = promisify(execFile)

/** The environment engines get: enough to find tools and pick a UTF-8 locale, nothing else. */
export const ENGINE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' }

export interface SpawnSpec {
  readonly command: string
  readonly args: readonly string[]
  readonly account: OsAccount
  /** stdout and stderr are appended here; the file is created if missing. */
  readonly logFile: string
  /** Working folder; must be reachable by `account`. Default "/". */
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
}

// Only root may switch users; setting our own uid would still call setgroups() and fail.
const identity = (account: OsAccount): { uid?: number; gid?: number } =>
  runningAsRoot() ? { uid: account.uid, gid: account.gid } : {}

/**
 * The command line that starts `spec` inside the account's cgroups: a root shell writes its own pid
 * into each cgroup.procs, then becomes the engine through setpriv (the same uid, gid and no
 * supplementary groups that spawn's uid/gid give), so nothing the engine allocates escapes its
 * limits. Joining happens as root because cgroup v2 lets only the owner of the common ancestor move
 * a process.
 */
export function inCgroups(spec: Pick<SpawnSpec, 'command' | 'args' | 'account'>): { command: string; args: string[] } {
  const procs = spec.account.cgroupProcs ?? []
  const script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
  const { uid, gid } = spec.account
  return { command: '/bin/sh', args: ['-c', script, 'sh', ...procs, '--', 'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', spec.command, ...spec.args] }
}

/**
 * Starts `command` detached and returns its pid at once. Rejects when it cannot be started at all
 * (missing binary, no permission); an engine that starts and then fails is seen by `isAlive`.
 */
export async function spawnDetached(spec: SpawnSpec): Promise<number> {
  const fd = openSync(spec.logFile, 'a', 0o600)
  const limited = runningAsRoot() && (spec.account.cgroupProcs?.length ?? 0) > 0
  const { command, args } = limited ? inCgroups(spec) : { command: spec.command, args: [...spec.args] }
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: spec.cwd ?? '/',
      env: { ...(spec.env ?? ENGINE_ENV) },
      ...(limited ? {} : identity(spec.account)),
    })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => (child.pid === undefined ? reject(new Error(`${spec.command} has no pid`)) : resolve(child.pid)))
    })
    child.unref()
    return pid
  } finally {
    closeSync(fd)
  }
}

/** Runs a command to completion as `account` and returns its output; rejects on a non-zero exit. */
export async function runAs(
  command: string,
  args: readonly string[],
  account: OsAccount,
  options: { readonly cwd?: string; readonly timeoutMs?: number; readonly signal?: AbortSignal | undefined } = {},
): Promise<{ stdout: string; stderr: string }> {
  return execFileP(command, [...args], {
    cwd: options.cwd ?? '/',
    // A cancelled command's child is killed (SIGTERM) rather than left to finish.
    ...(options.signal ? { signal: options.signal } : {}),
    env: { ...ENGINE_ENV },
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 4 * 1024 * 1024,
    ...identity(account),
  })
}

/** The process's name (`comm`) and state letter from /proc, or undefined when it does not exist. */
export async function procStat(pid: number): Promise<{ comm: string; state: string } | undefined> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm may itself contain spaces and ')', so split around the last ')'.
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  return { comm: text.slice(open + 1, close), state: text.slice(close + 2, close + 3) }
}

/**
 * True while the process exists and has not exited. A zombie (exited, not yet reaped by its
 * parent, often PID 1 for detached engines) counts as exited: it can linger for seconds.
 */
export async function isAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false
  const st = await procStat(pid)
  return st !== undefined && st.state !== 'Z' && st.state !== 'X'
}

/** Polls every ~5 ms until the process has exited; resolves false when `timeoutMs` passed first. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!(await isAlive(pid))) return true
    if (Date.now() >= deadline) return false
    await sleep(5)
  }
}

/** Sends a signal to one process; false when it no longer exists. Refuses pids that name groups. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  // 0 and negative pids address process groups (-1: every process we may signal).
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}`)
  try {
    process.kill(pid, sig)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

/** Signals to send in turn, each with how long to wait for the exit before the next, in ms. */
export type StopSteps = readonly (readonly [NodeJS.Signals, number])[]

/**
 * Stops a process by escalation: sends each signal of `steps` in turn and waits its time for the
 * exit. True once the process has exited (or was already gone); false when it outlived every step.
 */
export async function signalUntilExit(pid: number, steps: StopSteps): Promise<boolean> {
  for (const [sig, timeoutMs] of steps) {
    if (!signal(pid, sig) || (await waitForExit(pid, timeoutMs))) return true
  }
  return false
}
