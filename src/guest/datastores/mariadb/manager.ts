/**
 * The lifecycle of a MySQL-family engine on a node; `mysqlFamilyEngine(server)` makes it for one
 * server (MariaDB's in index.ts). Layout on the instance's volume: `my.cnf`, `data/` (the data
 * folder), `log/` (error log), `tmp/` (the server's temporary files, counted against the volume),
 * `binlog/` (binary logs, for point-in-time restore) and `no-files/` (secure_file_priv: empty, not
 * writable by the engine). The socket and the server's pid file are in the private runDir. The
 * server runs detached; it is found again from its pid file, or from the pid Coffer recorded at
 * spawn (the server writes its own only once its storage engines are up), and recognised by the
 * `--defaults-file=` in its command line.
 */
import { access, chmod, chown, mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errorMessage } from '../../../core/errors.js'
import { engineExited, engineNotReady, engineWouldNotStop, notPrepared, spawnFailed, unrecordedEngine } from '../common/engine-errors.js'
import { notOnItsPort, portInUse } from '../common/bind-failure.js'
import { removeTree, syncFileSystem, writeFileAtomic } from '../common/files.js'
import { logSizes, tailFile } from '../common/log-tail.js'
import { runningAsRoot } from '../common/os-account.js'
import { holdsListener } from '../common/port-owner.js'
import { isAlive, procStat, signalUntilExit, spawnDetached, type StopSteps } from '../common/process.js'
import { serialised as serialisedByKey } from '../common/serialise.js'
import { copyTemplate } from '../common/template-cache.js'
import type { EngineLifecycle, EngineStatus, InstanceContext, PrepareSpec } from '../datastore.js'
import { isUnreachable, openClient, socketPath } from './client.js'
import { type MysqlFamilyPaths, renderMyCnf } from './config.js'
import { logCnf } from './logs.js'
import { readOverrides, readOverridesSync } from './configuration.js'
import type { MysqlFamilyServer } from './manifest.js'
import { cnfOverrides } from './parameters.js'
import { replicationCnf } from './replication-role.js'
import { secureInstance, servicePasswords, withService } from './service-account.js'
import { ensureTemplate } from './template.js'
import { mariadbTuning } from './tuning.js'
import { mariadbDatabases, mariadbUsers } from './users.js'

const START_TIMEOUT_MS = 120_000
/** What the server logs, just before it exits, when another process holds its port. */
/** SIGTERM is a normal shutdown (InnoDB flushes what it must); SIGKILL leaves crash recovery to the next start. */
export const STOP_STEPS: StopSteps = [['SIGTERM', 120_000], ['SIGKILL', 10_000]]

/** The instance's data folder. */
export const dataDir = (ctx: InstanceContext): string => join(ctx.volumeDir, 'data')
/** The instance's my.cnf, given to the server as `--defaults-file=`. */
export const cnfPath = (ctx: InstanceContext): string => join(ctx.volumeDir, 'my.cnf')

/** Every path of an instance. */
export const instancePaths = (ctx: InstanceContext): MysqlFamilyPaths => ({
  dataDir: dataDir(ctx),
  logFile: join(ctx.volumeDir, 'log', 'error.log'),
  tmpDir: join(ctx.volumeDir, 'tmp'),
  socket: socketPath(ctx),
  pidFile: join(ctx.runDir, 'mysqld.pid'),
  noFilesDir: join(ctx.volumeDir, 'no-files'),
  binlogBase: join(ctx.volumeDir, 'binlog', 'binlog'),
})

// Only what the server says before it opens its error log (an unknown option, say) lands here.
export const consoleLog = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log', 'console.log')

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)
const serialised = <T>(ctx: InstanceContext, fn: () => Promise<T>): Promise<T> => serialisedByKey(ctx.volumeDir, fn)

async function ensureDir(path: string, mode: number, owner?: InstanceContext['account']): Promise<void> {
  await mkdir(path, { recursive: true, mode })
  if (owner && runningAsRoot()) await chown(path, owner.uid, owner.gid)
  await chmod(path, mode)
}

/**
 * Makes the volume's folders and writes my.cnf as every start does: the flavor's tuning, the
 * instance's paths and address, the configuration group's overrides (configuration.ts), and the
 * replication role's settings (replication-role.ts: read-only on a replica).
 */
export async function writeInstanceCnf(ctx: InstanceContext, server: MysqlFamilyServer): Promise<void> {
  const paths = instancePaths(ctx)
  await ensureDir(join(ctx.volumeDir, 'log'), 0o700, ctx.account)
  await ensureDir(paths.tmpDir, 0o700, ctx.account)
  await ensureDir(dirname(paths.binlogBase), 0o700, ctx.account)
  // Owned by Coffer (when root) and read-only: the engine can write nothing there.
  await ensureDir(paths.noFilesDir, 0o555)
  const overrides = new Map([
    ...(await logCnf(ctx, server)),
    ...cnfOverrides(await readOverrides(ctx, server.name)),
    // Last: a configuration group cannot make a replica writable (read_only is not offered anyway).
    ...(server.name === 'mariadb' ? await replicationCnf(ctx) : []),
  ])
  const cnf = renderMyCnf(ctx, mariadbTuning(ctx.flavor), paths, server.engineSettings, overrides)
  await writeFileAtomic(cnfPath(ctx), cnf, { mode: 0o600, account: ctx.account })
}

/** Recorded in guestDir once the data folder is complete; prepare never copies the template over it. */
export const dataReadyPath = (ctx: InstanceContext, server: MysqlFamilyServer): string => join(ctx.guestDir, `${server.name}-data-ready`)

/** The pid Coffer recorded when it spawned the server (found again by `--defaults-file=` in its command line). */
export const spawnedPidPath = (ctx: InstanceContext, server: MysqlFamilyServer): string => join(ctx.guestDir, `${server.name}.pid`)

/** A pid from a pid file, when that process is alive and is this instance's server. */
async function ourServer(ctx: InstanceContext, server: MysqlFamilyServer, pidFile: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
  // A stale file after a reboot may name a pid now reused by something else, maybe another instance's server.
  if (!(await isAlive(pid)) || (await procStat(pid))?.comm !== server.processName) return undefined
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
  return args.includes(`--defaults-file=${cnfPath(ctx)}`) ? pid : undefined
}

/**
 * True once the server answers a login on the socket, whether or not it accepts `password`: any
 * answer from the server (an SQL state) means it is up; a socket error means not yet. Connecting
 * is what `mariadb-admin ping` does, without its sleeps of a second.
 */
async function answers(ctx: InstanceContext, password: string): Promise<boolean> {
  try {
    const client = await openClient(ctx, password, 2_000)
    await client.end().catch(() => client.destroy())
    return true
  } catch (err) {
    return (err as { sqlState?: unknown }).sqlState !== undefined
  }
}

/** The lifecycle of `server`'s engines. */
export function mysqlFamilyEngine(server: MysqlFamilyServer): EngineLifecycle {
  // In guestDir, not on the volume or in runDir: the engine's account cannot forge them.
  const dataReady = (ctx: InstanceContext): string => dataReadyPath(ctx, server)
  const spawnedPid = (ctx: InstanceContext): string => spawnedPidPath(ctx, server)

  const running = async (ctx: InstanceContext): Promise<number | undefined> =>
    (await ourServer(ctx, server, instancePaths(ctx).pidFile)) ?? (await ourServer(ctx, server, spawnedPid(ctx)))

  /** What the server wrote, since `marks` when given: its console (bad options) and its error log. */
  async function logTail(ctx: InstanceContext, marks: ReadonlyMap<string, number> = new Map()): Promise<string> {
    const files = [consoleLog(ctx), instancePaths(ctx).logFile]
    const tails = await Promise.all(files.map((f) => tailFile(f, 15, marks.get(f))))
    return tails.filter((t) => !t.startsWith('(')).join('\n') || '(no log)'
  }

  async function waitReady(ctx: InstanceContext, pid: number, password: string, marks?: ReadonlyMap<string, number>): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      ctx.signal?.throwIfAborted()
      if (await answers(ctx, password)) return
      if (!(await isAlive(pid))) {
        const exited = engineExited(server.name, ctx.instanceId, await logTail(ctx, marks))
        // A taken port is said with the port: the create workflow moves the instance off it.
        throw exited.code === 'PORT_IN_USE' ? portInUse(ctx, server.name, exited.details ?? '') : exited
      }
      if (Date.now() > deadline) {
        throw engineNotReady(server.name, ctx.instanceId, START_TIMEOUT_MS / 1000, await logTail(ctx, marks))
      }
      await sleep(5)
    }
  }

  /** Starts the server unless it runs; `password` is only used to see it answer. */
  async function startUnlocked(ctx: InstanceContext, password: string): Promise<void> {
    const pid = await running(ctx)
    if (pid) return waitReady(ctx, pid, password)
    const paths = instancePaths(ctx)
    if (!(await exists(join(paths.dataDir, 'mysql')))) throw notPrepared(server.name, ctx.instanceId)
    await writeInstanceCnf(ctx, server)
    const marks = await logSizes([consoleLog(ctx), paths.logFile])
    const started = await spawnDetached({
      command: server.serverBinary,
      args: [`--defaults-file=${cnfPath(ctx)}`],
      account: ctx.account,
      logFile: consoleLog(ctx),
    }).catch((err: unknown) => {
      throw spawnFailed(server.serverBinary, err)
    })
    await writeFileAtomic(spawnedPid(ctx), `${started}\n`, { mode: 0o600 })
    await waitReady(ctx, started, password, marks)
  }

  async function stopUnlocked(ctx: InstanceContext): Promise<void> {
    const pid = await running(ctx)
    if (!pid) return
    if (await signalUntilExit(pid, STOP_STEPS)) return
    throw engineWouldNotStop(server.name, ctx.instanceId, pid)
  }

  /** Copies the template into an empty data folder, unless a completed copy is recorded. */
  async function ensureDataFolder(ctx: InstanceContext): Promise<void> {
    if (await exists(dataReady(ctx))) return
    const template = await ensureTemplate(ctx.cacheDir, server, ctx.version, ctx.nodeAccount)
    // Whatever is there is a copy cut short by a crash; never a live database, whatever happened to guestDir.
    const pid = await running(ctx)
    if (pid) throw unrecordedEngine(server.name, ctx.instanceId, pid)
    await removeTree(dataDir(ctx))
    await copyTemplate(template, dataDir(ctx), ctx.account)
    // The copy sits in the page cache; make it durable before recording it as complete.
    await syncFileSystem(dataDir(ctx))
    await writeFileAtomic(dataReady(ctx), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
  }

  const templatePassword = async (ctx: InstanceContext): Promise<string> => (await ensureTemplate(ctx.cacheDir, server, ctx.version, ctx.nodeAccount)).password

  return {
    prepare: (ctx: InstanceContext, spec: PrepareSpec) =>
      serialised(ctx, async () => {
        await ensureDataFolder(ctx)
        // A prepared instance never needs the template again; a fresh copy still has its password.
        const known = (await servicePasswords(ctx))[0] ?? (await templatePassword(ctx))
        await startUnlocked(ctx, known)
        await secureInstance(ctx, () => templatePassword(ctx))
        await mariadbDatabases.create(ctx, spec.databases)
        await mariadbUsers.create(ctx, spec.users)
      }),

    start: (ctx: InstanceContext) => serialised(ctx, async () => startUnlocked(ctx, (await servicePasswords(ctx))[0] ?? '')),

    stop: (ctx: InstanceContext) => serialised(ctx, () => stopUnlocked(ctx)),

    async status(ctx: InstanceContext): Promise<EngineStatus> {
      try {
        const pid = await running(ctx)
        if (!pid) {
          const stale = await exists(instancePaths(ctx).pidFile)
          return { state: 'stopped', healthy: false, ...(stale ? { detail: 'not running; it did not shut down cleanly' } : {}) }
        }
        try {
          await withService(ctx, (c) => c.query('SELECT 1'))
        } catch (err) {
          if (isUnreachable(err)) return { state: 'starting', healthy: false, pid }
          return { state: 'running', healthy: false, pid, detail: `login failed: ${errorMessage(err)}` }
        }
        // The login went through the instance's private socket; the port must lead to the same server.
        if (!(await holdsListener(pid, ctx.port))) return notOnItsPort(ctx, pid)
        return { state: 'running', healthy: true, pid }
      } catch (err) {
        return { state: 'failed', healthy: false, detail: errorMessage(err) }
      }
    },

    effectiveConfiguration: (ctx: InstanceContext) => ({
      ...mariadbTuning(ctx.flavor),
      // Overrides are bare numbers in the engine's unit (bytes: 268435456, where tuning says "256M").
      ...readOverridesSync(ctx, server.name),
      port: ctx.port,
      bind_address: ctx.bindAddress,
    }),
  }
}
