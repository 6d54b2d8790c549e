/**
 * The Redis engine's lifecycle on a node. Layout on the instance's volume: `redis.conf` (rewritten
 * at every start), `users.acl` (Redis's ACL file; Coffer restores its own two lines at every start),
 * `data/` (the append-only file) and `log/`. The socket and the pid file live in runDir. No
 * template: redis-server starts in tens of milliseconds from an empty folder.
 */
import { chmod, chown, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BadRequest, errorMessage } from '../../../core/errors.js'
import { engineExited, engineNotReady, engineWouldNotStop, serviceLoginFailed, spawnFailed } from '../common/engine-errors.js'
import { notOnItsPort, portInUse } from '../common/bind-failure.js'
import { writeFileAtomic } from '../common/files.js'
import { logSizes, tailFile } from '../common/log-tail.js'
import { runningAsRoot } from '../common/os-account.js'
import { holdsListener } from '../common/port-owner.js'
import { isAlive, procStat, signalUntilExit, spawnDetached, type StopSteps, waitForExit } from '../common/process.js'
import { serialised as serialisedByKey } from '../common/serialise.js'
import type { EngineLifecycle, EngineStatus, InstanceContext, PrepareSpec } from '../datastore.js'
import { ensureServicePassword, isLoading, isWrongPassword, openClient, servicePassword, socketPath, type RedisClient } from './client.js'
import { renderAclFile, renderRedisConf, type RedisPaths } from './config.js'
import { readOverrides, readOverridesSync } from './configuration.js'
import { logSettings, logSwitches } from './log-switches.js'
import { REDIS_SERVER, SERVICE_USER } from './manifest.js'
import { readRole, replicationSettings, replPassword } from './replication-state.js'
import { redisTuning } from './tuning.js'
import { checkUsers, redisUsers } from './users.js'

/** How long a server may stay silent while starting; a server answering LOADING gets more. */
const START_TIMEOUT_MS = 60_000
/** What the server logs, just before it exits, when another process holds its port. */
/** How long a clean shutdown (flush the AOF, remove socket and pid file) may take before signals. */
const SHUTDOWN_TIMEOUT_MS = 60_000
/** Used when SHUTDOWN cannot be sent: SIGTERM is the same clean shutdown, then SIGKILL. */
const STOP_STEPS: StopSteps = [['SIGTERM', 60_000], ['SIGKILL', 10_000]]

/** Where the instance's files are. */
export function redisPaths(ctx: InstanceContext): RedisPaths & { readonly logDir: string; readonly startupLog: string } {
  const logDir = join(ctx.volumeDir, 'log')
  return {
    conf: join(ctx.volumeDir, 'redis.conf'),
    aclFile: join(ctx.volumeDir, 'users.acl'),
    dataDir: join(ctx.volumeDir, 'data'),
    logDir,
    logFile: join(logDir, 'redis.log'),
    // What redis-server says before it opens its log file (e.g. a bad redis.conf) lands here.
    startupLog: join(logDir, 'startup.log'),
    socket: socketPath(ctx),
    pidFile: join(ctx.runDir, 'redis.pid'),
  }
}

const serialised = <T>(ctx: InstanceContext, fn: () => Promise<T>): Promise<T> => serialisedByKey(ctx.volumeDir, fn)

/**
 * The pid of this instance's server, from the pid file, when that process is alive and is a
 * redis-server started with this instance's redis.conf (its process title names it), so a stale
 * pid file whose pid now belongs to another process, even another instance's Redis, is ignored.
 */
export async function serverPid(ctx: InstanceContext): Promise<number | undefined> {
  const pid = Number((await readFile(redisPaths(ctx).pidFile, 'utf8').catch(() => '')).trim())
  if (!(await isAlive(pid)) || (await procStat(pid))?.comm !== 'redis-server') return undefined
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.replace(/\0/g, ' ').includes(redisPaths(ctx).conf) ? pid : undefined
}

/** The end of what the server wrote, since `marks` when given: its start-up output (bad redis.conf) and its own log. */
async function logTail(ctx: InstanceContext, marks: ReadonlyMap<string, number> = new Map()): Promise<string> {
  const { startupLog, logFile } = redisPaths(ctx)
  const tails = [await tailFile(startupLog, 5, marks.get(startupLog)), await tailFile(logFile, 15, marks.get(logFile))]
  return tails.filter((t) => !t.startsWith('(')).join('\n') || '(no log)'
}

/** An authenticated PING as the service user; resolves 'PONG' or rejects with Redis's error. */
async function ping(ctx: InstanceContext, password: string): Promise<unknown> {
  const client = await openClient(ctx, SERVICE_USER, password, 5_000)
  try {
    return await client.ping()
  } finally {
    client.disconnect()
  }
}

/**
 * Polls an authenticated PING every ~5 ms (every 25 ms while it loads its data: each poll is a
 * connection the loading server stops to serve) until it answers PONG, the server exits, or time
 * runs out.
 */
async function waitReady(ctx: InstanceContext, pid: number, password: string, marks?: ReadonlyMap<string, number>): Promise<void> {
  let deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    ctx.signal?.throwIfAborted()
    let loading = false
    try {
      if ((await ping(ctx, password)) === 'PONG') return
    } catch (err) {
      if (isWrongPassword(err)) throw serviceLoginFailed('Redis', ctx.instanceId, err, 'refused')
      // Loading a large AOF takes as long as it takes; the server is alive and says so.
      loading = isLoading(err)
      if (loading) deadline = Math.max(deadline, Date.now() + START_TIMEOUT_MS)
    }
    if (!(await isAlive(pid))) {
      const exited = engineExited('Redis', ctx.instanceId, await logTail(ctx, marks))
      // A taken port is said with the port: the create workflow moves the instance off it.
      throw exited.code === 'PORT_IN_USE' ? portInUse(ctx, 'Redis', exited.details ?? '') : exited
    }
    if (Date.now() > deadline) {
      throw engineNotReady('Redis', ctx.instanceId, START_TIMEOUT_MS / 1000, await logTail(ctx, marks))
    }
    await sleep(loading ? 25 : 5)
  }
}

/** A folder on the volume owned by the engine's account, mode 0700. */
export async function engineDir(ctx: InstanceContext, path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
  if (runningAsRoot()) await chown(path, ctx.account.uid, ctx.account.gid)
  await chmod(path, 0o700)
}

/** Writes redis.conf and puts Coffer's lines into the ACL file. Only while the server is down: ACL SAVE rewrites the file. */
async function writeConfig(ctx: InstanceContext, password: string): Promise<void> {
  const paths = redisPaths(ctx)
  const opts = { mode: 0o600, account: ctx.account, durable: true }
  const acl = await readFile(paths.aclFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  await writeFileAtomic(paths.aclFile, renderAclFile(acl, password, await replPassword(ctx)), opts)
  // With the guest logs' switches, and the configuration group's overrides over them, from what
  // Coffer saved; a replica's or a fenced source's settings over all (replication-state.ts).
  const overrides = { ...logSettings(await logSwitches.read(ctx)), ...(await readOverrides(ctx)) }
  const replication = replicationSettings(await readRole(ctx))
  await writeFileAtomic(paths.conf, renderRedisConf(ctx, redisTuning(ctx.flavor), paths, overrides, replication), opts)
}

async function startUnlocked(ctx: InstanceContext): Promise<void> {
  const password = await servicePassword(ctx)
  const running = await serverPid(ctx)
  if (running) return waitReady(ctx, running, password)
  const paths = redisPaths(ctx)
  await engineDir(ctx, paths.dataDir)
  await engineDir(ctx, paths.logDir)
  // The ACL file is in place before the first start: the server is never up without passwords.
  await writeConfig(ctx, password)
  const marks = await logSizes([paths.startupLog, paths.logFile])
  const pid = await spawnDetached({
    command: REDIS_SERVER,
    args: [paths.conf],
    account: ctx.account,
    logFile: paths.startupLog,
    cwd: paths.dataDir,
  }).catch((err: unknown) => {
    throw spawnFailed(REDIS_SERVER, err)
  })
  await waitReady(ctx, pid, password, marks)
}

/**
 * Asks the server to shut down cleanly: 'asked', 'refused' (it answered with an error) or
 * 'unreachable'. Preferred to SIGTERM, which Redis acts on only at its next timer tick (hz 10: up
 * to 100 ms later).
 */
async function requestShutdown(ctx: InstanceContext): Promise<'asked' | 'refused' | 'unreachable'> {
  let client: RedisClient
  try {
    client = await openClient(ctx, SERVICE_USER, await servicePassword(ctx), 5_000)
  } catch {
    return 'unreachable'
  }
  try {
    await client.call('SHUTDOWN')
    return 'asked'
  } catch (err) {
    // A server that exits closes the connection without an answer; an answer is a refusal.
    return err instanceof Error && err.name === 'ReplyError' ? 'refused' : 'asked'
  } finally {
    client.disconnect()
  }
}

/**
 * SHUTDOWN, asked again while Redis refuses it for a while: it will not exit while it writes its
 * first AOF (a replica does, right after each full sync), and a SIGTERM then is refused the same
 * way and never retried. True once it is on its way out.
 */
async function shutdownCleanly(ctx: InstanceContext, pid: number): Promise<boolean> {
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS
  for (;;) {
    const answer = await requestShutdown(ctx)
    if (answer === 'asked') return waitForExit(pid, Math.max(0, deadline - Date.now()))
    if (answer === 'unreachable' || Date.now() > deadline) return false
    await sleep(100)
  }
}

async function stopUnlocked(ctx: InstanceContext): Promise<void> {
  const pid = await serverPid(ctx)
  if (!pid) return
  if (await shutdownCleanly(ctx, pid)) return
  if (await signalUntilExit(pid, STOP_STEPS)) return
  throw engineWouldNotStop('Redis', ctx.instanceId, pid)
}

/** Redis's EngineLifecycle. */
export const redisEngine: EngineLifecycle = {
  prepare: (ctx: InstanceContext, spec: PrepareSpec) =>
    serialised(ctx, async () => {
      // Bad input changes nothing: checked before the first file is written.
      if (spec.databases.length > 0) throw new BadRequest('Redis has no named databases; create the instance without databases.')
      checkUsers(spec.users)
      await ensureServicePassword(ctx)
      // A server running already (a claimed spare, a resumed prepare) is shown to answer by the
      // login that makes the users; without users to make, start pings it.
      if (spec.users.length === 0 || !(await serverPid(ctx))) await startUnlocked(ctx)
      await redisUsers.create(ctx, spec.users)
    }),

  start: (ctx: InstanceContext) => serialised(ctx, () => startUnlocked(ctx)),

  stop: (ctx: InstanceContext) => serialised(ctx, () => stopUnlocked(ctx)),

  async status(ctx: InstanceContext): Promise<EngineStatus> {
    try {
      const pid = await serverPid(ctx)
      if (!pid) {
        // Redis removes its pid file on a clean shutdown.
        const stale = await readFile(redisPaths(ctx).pidFile).then(() => true, () => false)
        return { state: 'stopped', healthy: false, ...(stale ? { detail: 'not running; it did not shut down cleanly' } : {}) }
      }
      let answer: unknown
      try {
        answer = await ping(ctx, await servicePassword(ctx))
      } catch (err) {
        if (isLoading(err)) return { state: 'starting', healthy: false, pid, detail: 'loading its data' }
        return { state: 'running', healthy: false, pid, detail: `login failed: ${errorMessage(err)}` }
      }
      if (answer !== 'PONG') return { state: 'running', healthy: false, pid, detail: `PING answered ${String(answer)}` }
      // The login went through the instance's private socket; the port must lead to the same server.
      if (!(await holdsListener(pid, ctx.port))) return notOnItsPort(ctx, pid)
      return { state: 'running', healthy: true, pid }
    } catch (err) {
      return { state: 'failed', healthy: false, detail: errorMessage(err) }
    }
  },

  effectiveConfiguration: (ctx: InstanceContext) => ({
    ...redisTuning(ctx.flavor),
    port: ctx.port,
    bind: ctx.bindAddress,
    'protected-mode': 'yes',
    appendonly: 'yes',
    appendfsync: 'everysec',
    ...readOverridesSync(ctx),
  }),
}
