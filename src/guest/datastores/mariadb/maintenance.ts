/**
 * A restore's private run of the server on the restored data folder: the instance's own my.cnf,
 * but no network (socket only, in the private runDir), no binary log (what a restore replays is
 * not this instance's history) and no grant tables at first, since the restored mysql.user holds
 * another instance's service password. The caller loads the grant tables (FLUSH PRIVILEGES) once it
 * has set this instance's own. A replica's seed (seed.ts) runs it too, with its binary log on.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { engineExited, engineNotReady, engineWouldNotStop, spawnFailed } from '../common/engine-errors.js'
import { writeFileAtomic } from '../common/files.js'
import { tailFile } from '../common/log-tail.js'
import { isAlive, signalUntilExit, spawnDetached } from '../common/process.js'
import type { InstanceContext } from '../datastore.js'
import { type MysqlClient, openClient } from './client.js'
import { cnfPath, consoleLog, instancePaths, spawnedPidPath, STOP_STEPS, writeInstanceCnf } from './manager.js'
import type { MysqlFamilyServer } from './manifest.js'

const READY_TIMEOUT_MS = 120_000

async function connect(ctx: InstanceContext, server: MysqlFamilyServer, pid: number): Promise<MysqlClient> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    ctx.signal?.throwIfAborted()
    try {
      // Without grant tables any password logs in.
      return await openClient(ctx, '', 2_000)
    } catch (err) {
      if ((err as { sqlState?: unknown }).sqlState !== undefined) throw err
    }
    const log = async (): Promise<string> => `${await tailFile(consoleLog(ctx), 15)}\n${await tailFile(instancePaths(ctx).logFile, 15)}`
    if (!(await isAlive(pid))) throw engineExited(server.name, ctx.instanceId, await log())
    if (Date.now() > deadline) throw engineNotReady(server.name, ctx.instanceId, READY_TIMEOUT_MS / 1000, await log())
    await sleep(10)
  }
}

/** How a maintenance run differs from a restore's. */
export interface MaintenanceOptions {
  /**
   * Keeps the binary log on (a replica's seed sets the log's GTID state: replication.ts); the
   * client's session then logs nothing (sql_log_bin = 0) unless `fn` says otherwise.
   */
  readonly binlog?: boolean
}

/** Runs `fn` with a client of the private server, then stops the server (a normal shutdown). */
export async function withMaintenanceServer<T>(ctx: InstanceContext, server: MysqlFamilyServer, fn: (client: MysqlClient) => Promise<T>, options: MaintenanceOptions = {}): Promise<T> {
  await writeInstanceCnf(ctx, server)
  const pid = await spawnDetached({
    command: server.serverBinary,
    // No replica threads either: one configured by a seed starts at the engine's own start.
    args: [`--defaults-file=${cnfPath(ctx)}`, '--skip-networking', '--skip-grant-tables', '--skip-slave-start', ...(options.binlog ? [] : ['--skip-log-bin'])],
    account: ctx.account,
    logFile: consoleLog(ctx),
  }).catch((err: unknown) => {
    throw spawnFailed(server.serverBinary, err)
  })
  // Recorded where the engine's own stop finds it, should Coffer stop before this does.
  await writeFileAtomic(spawnedPidPath(ctx, server), `${pid}\n`, { mode: 0o600 })
  try {
    const client = await connect(ctx, server, pid)
    try {
      if (options.binlog) await client.query('SET SESSION sql_log_bin = 0')
      return await fn(client)
    } finally {
      await client.end().catch(() => client.destroy())
    }
  } finally {
    if (!(await signalUntilExit(pid, STOP_STEPS))) throw engineWouldNotStop(server.name, ctx.instanceId, pid)
  }
}
