/**
 * The PostgreSQL engine's lifecycle on a node. Layout on the instance's volume: `data/` (the data
 * folder, with postgresql.conf and pg_hba.conf inside) and `log/` (the engine's logs). The
 * postmaster runs detached; its `postmaster.pid` is the source of truth for pid and readiness.
 */
import { access, chmod, chown, mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errorMessage } from '../../../core/errors.js'
import { engineExited, engineNotReady, engineWouldNotStop, notPrepared, settledLog, spawnFailed, unrecordedEngine } from '../common/engine-errors.js'
import { notOnItsPort, portInUse } from '../common/bind-failure.js'
import { removeTree, syncFileSystem, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { holdsListener } from '../common/port-owner.js'
import { isAlive, procStat, signalUntilExit, spawnDetached, type StopSteps } from '../common/process.js'
import { logSizes, tailFile } from '../common/log-tail.js'
import { readLogSwitches, renderLogSettings } from './logs.js'
import { serialised as serialisedByKey } from '../common/serialise.js'
import { copyTemplate } from '../common/template-cache.js'
import type { EngineLifecycle, EngineStatus, InstanceContext, PrepareSpec } from '../datastore.js'
import { renderAutoConf, renderPgHba, renderPostgresqlConf } from './config.js'
import { readOverrides, readOverridesSync } from './configuration.js'
import { postgresqlDatabases } from './databases.js'
import { binDir } from './manifest.js'
import { secureInstance, withService } from './service-account.js'
import { renderReplication } from './standby.js'
import { ensureTemplate } from './template.js'
import { postgresqlTuning } from './tuning.js'
import { postgresqlUsers } from './users.js'

const START_TIMEOUT_MS = 60_000
/** What the postmaster logs, before it exits for want of any socket, when another process holds its port. */
/** Fast shutdown (SIGINT) may have to finish a checkpoint; then immediate (SIGQUIT), then SIGKILL. */
const STOP_STEPS: StopSteps = [['SIGINT', 60_000], ['SIGQUIT', 10_000], ['SIGKILL', 10_000]]

/** The instance's data folder. */
export const dataDir = (ctx: InstanceContext): string => join(ctx.volumeDir, 'data')
export const logDir = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log')
// In guestDir, not on the volume: the engine's account cannot forge it.
export const dataReady = (ctx: InstanceContext): string => join(ctx.guestDir, 'postgresql-data-ready')

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)

/** One operation at a time per instance: start, stop, configuration and replication share this queue. */
export const serialised = <T>(ctx: InstanceContext, fn: () => Promise<T>): Promise<T> => serialisedByKey(ctx.volumeDir, fn)

interface Postmaster {
  readonly pid: number
  /** "starting", "ready", "standby" or "stopping" (PM_STATUS in postmaster.pid). */
  readonly status: string
}

/** The postmaster named by postmaster.pid, when that process is alive and is a postgres. */
export async function postmaster(ctx: InstanceContext): Promise<Postmaster | undefined> {
  let lines: string[]
  try {
    lines = (await readFile(join(dataDir(ctx), 'postmaster.pid'), 'utf8')).split('\n')
  } catch {
    return undefined
  }
  const pid = Number(lines[0])
  // A stale file after a reboot may name a pid now reused by something else.
  if (!(await isAlive(pid)) || (await procStat(pid))?.comm !== 'postgres') return undefined
  return { pid, status: lines[7]?.trim() ?? '' }
}

const logFiles = async (ctx: InstanceContext): Promise<string[]> => (await readdir(logDir(ctx)).catch(() => [] as string[])).map((f) => join(logDir(ctx), f))

/**
 * The end of the engine's logs: what it wrote to stderr before its log collector ran (a failed
 * bind lands there) and the collector's newest file, so neither hides the other. With `marks`
 * (taken before this start), only what this start wrote.
 */
async function logTail(ctx: InstanceContext, marks: ReadonlyMap<string, number> = new Map(), lines = 15): Promise<string> {
  const startup = join(logDir(ctx), 'startup.log')
  const collected = await Promise.all((await logFiles(ctx)).filter((f) => f !== startup).map(async (f) => ({ f, t: (await stat(f)).mtimeMs })))
  const newest = collected.sort((a, b) => b.t - a.t)[0]
  const tails = [await tailFile(startup, lines, marks.get(startup))]
  if (newest) tails.push(await tailFile(newest.f, lines, marks.get(newest.f)))
  return tails.join('\n')
}

async function waitReady(ctx: InstanceContext, pid: number, marks?: ReadonlyMap<string, number>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  const pidFile = join(dataDir(ctx), 'postmaster.pid')
  for (;;) {
    ctx.signal?.throwIfAborted()
    const lines = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n')
    const status = lines[7]?.trim()
    if (Number(lines[0]) === pid && (status === 'ready' || status === 'standby')) return
    if (!(await isAlive(pid))) {
      const exited = engineExited('PostgreSQL', ctx.instanceId, await settledLog(() => logTail(ctx, marks)))
      // A taken port is said with the port: the create workflow moves the instance off it.
      throw exited.code === 'PORT_IN_USE' ? portInUse(ctx, 'PostgreSQL', exited.details ?? '') : exited
    }
    if (Date.now() > deadline) {
      throw engineNotReady('PostgreSQL', ctx.instanceId, START_TIMEOUT_MS / 1000, await logTail(ctx, marks))
    }
    await sleep(5)
  }
}

export async function writeConfig(ctx: InstanceContext): Promise<void> {
  const opts = { mode: 0o600, account: ctx.account }
  const conf = renderPostgresqlConf(ctx, postgresqlTuning(ctx.flavor), logDir(ctx)) + renderLogSettings(await readLogSwitches(ctx))
    // Last: what makes it a standby (and standby.signal) or a synchronous source, from guestDir.
    + (await renderReplication(ctx, dataDir(ctx)))
  await writeFileAtomic(join(dataDir(ctx), 'postgresql.conf'), conf, opts)
  await writeFileAtomic(join(dataDir(ctx), 'pg_hba.conf'), renderPgHba(ctx.allowedCidrs), opts)
  // The configuration group's overrides, from what Coffer saved (configuration.ts).
  await writeFileAtomic(join(dataDir(ctx), 'postgresql.auto.conf'), renderAutoConf(await readOverrides(ctx)), opts)
}

/** Starts the engine; the caller holds the instance's queue (`serialised`). */
export async function startUnlocked(ctx: InstanceContext): Promise<void> {
  const running = await postmaster(ctx)
  if (running) return waitReady(ctx, running.pid)
  if (!(await exists(join(dataDir(ctx), 'PG_VERSION')))) {
    throw notPrepared('PostgreSQL', ctx.instanceId)
  }
  await mkdir(logDir(ctx), { recursive: true, mode: 0o700 })
  if (runningAsRoot()) await chown(logDir(ctx), ctx.account.uid, ctx.account.gid)
  await chmod(logDir(ctx), 0o700)
  await writeConfig(ctx)
  const marks = await logSizes([join(logDir(ctx), 'startup.log'), ...(await logFiles(ctx))])
  const pid = await spawnDetached({
    command: join(binDir(ctx.version), 'postgres'),
    args: ['-D', dataDir(ctx)],
    account: ctx.account,
    // Only what PostgreSQL says before its logging collector takes over lands here.
    logFile: join(logDir(ctx), 'startup.log'),
    cwd: dataDir(ctx),
  }).catch((err: unknown) => {
    throw spawnFailed(join(binDir(ctx.version), 'postgres'), err)
  })
  await waitReady(ctx, pid, marks)
}

/** Stops the engine (fast shutdown); the caller holds the instance's queue (`serialised`). */
export async function stopUnlocked(ctx: InstanceContext): Promise<void> {
  const running = await postmaster(ctx)
  if (!running) return
  if (await signalUntilExit(running.pid, STOP_STEPS)) return
  throw engineWouldNotStop('PostgreSQL', ctx.instanceId, running.pid)
}

/** The live postmaster's pid, if one runs on this instance's data folder. */
export const runningPostmaster = async (ctx: InstanceContext): Promise<number | undefined> => (await postmaster(ctx))?.pid

/** Records a data folder laid down by other means (a restore) as complete: prepare never replaces it. */
export async function markDataReady(ctx: InstanceContext): Promise<void> {
  await writeFileAtomic(dataReady(ctx), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
}

/** Copies the template into an empty data folder, unless a completed copy is recorded. */
async function ensureDataFolder(ctx: InstanceContext): Promise<void> {
  if (await exists(dataReady(ctx))) return
  const template = await ensureTemplate(ctx.cacheDir, ctx.version, ctx.nodeAccount)
  // Whatever is there is a copy cut short by a crash; never a live database, whatever happened to guestDir.
  const running = await postmaster(ctx)
  if (running) throw unrecordedEngine('PostgreSQL', ctx.instanceId, running.pid)
  await removeTree(dataDir(ctx))
  await copyTemplate(template, dataDir(ctx), ctx.account)
  // The copy sits in the page cache; make it durable before recording it as complete.
  await syncFileSystem(dataDir(ctx))
  await writeFileAtomic(dataReady(ctx), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
}

/** PostgreSQL's EngineLifecycle. */
export const postgresqlEngine: EngineLifecycle = {
  prepare: (ctx: InstanceContext, spec: PrepareSpec) =>
    serialised(ctx, async () => {
      await ensureDataFolder(ctx)
      await startUnlocked(ctx)
      // Needed only until the instance has its own password; a prepared instance never rebuilds the template.
      await secureInstance(ctx, async () => (await ensureTemplate(ctx.cacheDir, ctx.version, ctx.nodeAccount)).password)
      await postgresqlDatabases.create(ctx, spec.databases)
      await postgresqlUsers.create(ctx, spec.users)
    }),

  start: (ctx: InstanceContext) => serialised(ctx, () => startUnlocked(ctx)),

  stop: (ctx: InstanceContext) => serialised(ctx, () => stopUnlocked(ctx)),

  async status(ctx: InstanceContext): Promise<EngineStatus> {
    try {
      const pm = await postmaster(ctx)
      if (!pm) {
        const stale = await exists(join(dataDir(ctx), 'postmaster.pid'))
        return { state: 'stopped', healthy: false, ...(stale ? { detail: 'not running; it did not shut down cleanly' } : {}) }
      }
      if (pm.status === 'starting') return { state: 'starting', healthy: false, pid: pm.pid }
      try {
        await withService(ctx, (c) => c.query('SELECT 1'))
      } catch (err) {
        return { state: 'running', healthy: false, pid: pm.pid, detail: `login failed: ${errorMessage(err)}` }
      }
      // The login went through the instance's private socket; the port must lead to the same postmaster.
      if (!(await holdsListener(pm.pid, ctx.port))) return notOnItsPort(ctx, pm.pid)
      return { state: 'running', healthy: true, pid: pm.pid }
    } catch (err) {
      return { state: 'failed', healthy: false, detail: errorMessage(err) }
    }
  },

  effectiveConfiguration: (ctx: InstanceContext) => ({
    ...postgresqlTuning(ctx.flavor),
    // Overrides are bare numbers in pg_settings' unit (work_mem: 8192 is kB), as the group holds them.
    ...readOverridesSync(ctx),
    port: ctx.port,
    listen_addresses: ctx.bindAddress,
  }),
}
