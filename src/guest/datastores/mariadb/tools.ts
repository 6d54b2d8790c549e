/**
 * Running MariaDB's command-line tools for backups and restores: a scratch folder in guestDir (root
 * only) for their own small files and the option file that carries the service password, so the
 * password is never on a command line (/proc/<pid>/cmdline is readable by every uid) nor in a file
 * the engine's account, i.e. the tenant, can read.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { exited } from '../common/sealed-objects.js'
import { ENGINE_ENV } from '../common/process.js'
import type { InstanceContext, OsAccount } from '../datastore.js'
import { socketPath } from './client.js'
import { cnfValue } from './config.js'
import { SERVICE_USER } from './manifest.js'

export const MARIADB_BACKUP = '/usr/bin/mariadb-backup'
export const MBSTREAM = '/usr/bin/mbstream'
export const MARIADB_BINLOG = '/usr/bin/mariadb-binlog'
export const MARIADB_CLIENT = '/usr/bin/mariadb'

/** Runs `fn` with a fresh folder in ctx.guestDir (mode 0700, root's), removed afterwards whatever happens. */
export async function withScratch<T>(ctx: InstanceContext, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(ctx.guestDir, 'mariadb-tool-'))
  try {
    return await fn(dir)
  } finally {
    await removeTree(dir)
  }
}

/**
 * Writes an option file (mode 0600, Coffer's) in `dir` that logs in as the service account over
 * the instance's socket, in each of `groups`, with `extra` options; returns its path.
 */
export async function writeServiceOptions(ctx: InstanceContext, dir: string, password: string, groups: readonly string[], extra: Readonly<Record<string, string>> = {}): Promise<string> {
  const options = { user: SERVICE_USER, password, socket: socketPath(ctx), ...extra }
  const body = Object.entries(options).map(([k, v]) => `${k} = ${cnfValue(v)}\n`).join('')
  const path = join(dir, 'service.cnf')
  await writeFileAtomic(path, groups.map((g) => `[${g}]\n${body}`).join(''), { mode: 0o600 })
  return path
}

/**
 * Starts a tool with pipes for stdin/stdout/stderr and the engines' minimal environment, as
 * `account` when given (and Coffer is root), else as Coffer; killed (SIGKILL) when `signal` aborts.
 */
export function spawnTool(command: string, args: readonly string[], options: { readonly account?: OsAccount; readonly signal?: AbortSignal | undefined; readonly env?: Readonly<Record<string, string>> } = {}): ChildProcess {
  const who = options.account && runningAsRoot() ? { uid: options.account.uid, gid: options.account.gid } : {}
  return spawn(command, [...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: '/',
    env: { ...ENGINE_ENV, ...options.env },
    ...(options.signal ? { signal: options.signal, killSignal: 'SIGKILL' as const } : {}),
    ...who,
  })
}

/** Kills `child` unless it has already exited. */
export function killTool(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

/** Runs a tool that needs no input to the end; rejects with its stderr when it fails. */
export async function runTool(command: string, args: readonly string[], options: Parameters<typeof spawnTool>[2] = {}): Promise<void> {
  const child = spawnTool(command, args, options)
  child.stdin!.end()
  child.stdout!.resume()
  await exited(child, command.split('/').at(-1) ?? command)
}

/**
 * Waits for every step of a pipeline of tools; when one fails, rejects with the most telling
 * error: a stored object that failed its check (OBJECT_CORRUPT) before a tool that then saw its
 * input end short.
 */
export async function allOrFirstFailure(steps: readonly Promise<unknown>[], children: readonly ChildProcess[]): Promise<void> {
  const results = await Promise.allSettled(steps.map((s) => s.catch((err: unknown) => {
    children.forEach(killTool)
    throw err
  })))
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown)
  if (failures.length) throw failures.find((e) => (e as { code?: unknown }).code === 'OBJECT_CORRUPT') ?? failures[0]
}
