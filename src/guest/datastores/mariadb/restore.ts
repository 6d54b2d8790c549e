/**
 * Restoring a mariadb-backup chain into a new instance's empty volume. Every step works inside the
 * volume (scratch folder `restore/`), as the instance's own account: each backup is unsealed
 * straight into `mbstream -x`, the full backup is `--prepare`d and each incremental applied to it
 * (extracted one at a time, so the volume holds the data and one incremental at most), and the
 * result becomes `data/`. A private run of the server (maintenance.ts) then gives this instance
 * its own service password and, for a point in time, replays the archived binary logs from the
 * backup's position: `mariadb-binlog --stop-datetime` into the `mariadb` client as the service
 * account. Binary log events carry whole seconds, so a restore to time T keeps every event
 * stamped at or before T's second (the stop is T's second + 1, in UTC: the tool reads it in TZ).
 */
import { chmod, chown, mkdir, readdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { BadRequest, CofferError } from '../../../core/errors.js'
import type { ArchiveTarget, RestoreRequest, StoredBackup } from '../backup.js'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { writeTreeFlushed } from '../common/flush-behind.js'
import { runningAsRoot } from '../common/os-account.js'
import { exited, openSealed, unsealInto } from '../common/sealed-objects.js'
import type { EngineLifecycle, InstanceContext } from '../datastore.js'
import { logTimes, type ShippedLog, shippedLogs } from './archive.js'
import { binlogNumber } from './binlog.js'
import { withMaintenanceServer } from './maintenance.js'
import { tracePhase } from '../../../core/trace.js'
import { cnfPath, dataDir, dataReadyPath, spawnedPidPath } from './manager.js'
import type { MysqlFamilyServer } from './manifest.js'
import { servicePasswords, setServicePassword } from './service-account.js'
import { allOrFirstFailure, MARIADB_BACKUP, MARIADB_BINLOG, MARIADB_CLIENT, MBSTREAM, runTool, spawnTool, withScratch, writeServiceOptions } from './tools.js'

/** What a restore (or a start after it) lays on the volume; removed on failure and before starting over. */
const LAID_DOWN = ['restore', 'data', 'binlog', 'log', 'tmp', 'no-files']

/** The logs to replay, the position to start the first at, and the second to stop before. */
interface Replay {
  readonly archive: ArchiveTarget
  readonly logs: readonly ShippedLog[]
  readonly startPosition: string
  readonly stopSecond: number
}

const isoSecond = (second: number): string => new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ')

/** Checks a point-in-time request against the chain and the archive before anything is laid down. */
async function planReplay(request: RestoreRequest, tip: StoredBackup, restoreTime: Date): Promise<Replay> {
  const { archive } = request
  if (!archive) throw new BadRequest('A restore to a point in time needs the archive of the instance the backup is of.')
  if (restoreTime < tip.takenAt) {
    throw new BadRequest(`Backup ${tip.backupId} holds the data of ${tip.takenAt.toISOString()}, after ${restoreTime.toISOString()}: restore to a later time or from an earlier backup.`)
  }
  const file = tip.position['binlogFile']
  const startPosition = tip.position['binlogPosition'] ?? ''
  if (!file || !/^\d+$/.test(startPosition)) {
    throw new BadRequest(`Backup ${tip.backupId} was taken while binary logs were off; restore it without a time.`)
  }
  const stopSecond = Math.floor(restoreTime.getTime() / 1000) + 1
  const all = (await shippedLogs(archive.location.store, archive)).filter((l) => binlogNumber(l.name) >= binlogNumber(file))
  const logs: ShippedLog[] = []
  let latest: number | undefined
  for (const log of all) {
    const expected = binlogNumber(file) + logs.length
    if (binlogNumber(log.name) !== expected) {
      throw new CofferError('OBJECT_NOT_FOUND', `The archive of instance ${archive.instanceId} lacks binary log number ${expected}, needed after backup ${tip.backupId}; restore to a time before it was written.`, { retryable: false })
    }
    const times = await logTimes(archive.location.store, archive, log)
    logs.push(log)
    latest = times.last
    if (times.last >= stopSecond) break
  }
  if (latest === undefined || latest < stopSecond - 1) {
    const reach = latest === undefined ? 'does not reach backup ' + tip.backupId + ' yet' : `reaches ${new Date(latest * 1000).toISOString()}`
    throw new BadRequest(`The archive of instance ${archive.instanceId} ${reach}: ${restoreTime.toISOString()} is not restorable yet.`)
  }
  return { archive, logs, startPosition, stopSecond }
}

/** Removes what a restore lays down, leaving the volume as the envelope gave it. */
async function clearVolume(ctx: InstanceContext, server: MysqlFamilyServer): Promise<void> {
  for (const name of LAID_DOWN) await removeTree(join(ctx.volumeDir, name))
  await removeTree(cnfPath(ctx))
  await removeTree(dataReadyPath(ctx, server))
  await removeTree(spawnedPidPath(ctx, server))
}

export async function ownedDir(ctx: InstanceContext, path: string): Promise<string> {
  await mkdir(path, { mode: 0o700 })
  if (runningAsRoot()) await chown(path, ctx.account.uid, ctx.account.gid)
  return path
}

/** Unseals one backup into `dir` through `mbstream -x`, as the instance's account. */
async function extract(ctx: InstanceContext, request: RestoreRequest, backup: StoredBackup, dir: string, progress: (bytes: number) => void): Promise<void> {
  const object = backup.objects.find((o) => o.key.endsWith('data.mbstream.zst.gcm')) ?? backup.objects[0]
  if (!object) throw new CofferError('OBJECT_NOT_FOUND', `Backup ${backup.backupId} records no stored object.`, { retryable: false })
  const child = spawnTool(MBSTREAM, ['-x', '-C', dir], { account: ctx.account, signal: ctx.signal })
  child.stdout!.resume()
  const unsealing = unsealInto(request.location.store, object.key, backup.dataKey, backup.backupId, child.stdin!, { signal: ctx.signal, onProgress: progress })
  await allOrFirstFailure([unsealing, exited(child, 'mbstream')], [child])
}

/** Lays the chain down as the data folder, prepared and ready for the server. */
async function layDown(ctx: InstanceContext, request: RestoreRequest): Promise<void> {
  const scratch = await ownedDir(ctx, join(ctx.volumeDir, 'restore'))
  const full = join(scratch, 'full')
  const asAccount = { account: ctx.account, signal: ctx.signal }
  let done = 0
  for (const [i, backup] of request.chain.entries()) {
    const base = done
    const dir = await ownedDir(ctx, i === 0 ? full : join(scratch, `incremental-${i}`))
    await tracePhase(`mariadb ${ctx.instanceId}: extract ${i}`, () => extract(ctx, request, backup, dir, (bytes) => request.onProgress?.((done = base + bytes))))
    // --no-defaults first: no option file of the node's; the tool reads the backup's own backup-my.cnf.
    await tracePhase(`mariadb ${ctx.instanceId}: prepare ${i}`, () => runTool(MARIADB_BACKUP, ['--no-defaults', '--prepare', `--target-dir=${full}`, ...(i > 0 ? [`--incremental-dir=${dir}`] : []), `--tmpdir=${scratch}`], asAccount))
    if (i > 0) await removeTree(dir)
  }
  for (const name of await readdir(full)) if (/^xtrabackup_|^backup-my\.cnf$/.test(name)) await removeTree(join(full, name))
  await rename(full, dataDir(ctx))
  await chmod(dataDir(ctx), 0o700)
  await removeTree(scratch)
}

/** Replays the planned logs into the private server, as the service account (whose password is set by now). */
async function replayLogs(ctx: InstanceContext, plan: Replay): Promise<void> {
  const [password] = await servicePasswords(ctx)
  await withScratch(ctx, async (dir) => {
    const options = await writeServiceOptions(ctx, dir, password ?? '', ['client'])
    for (const [i, log] of plan.logs.entries()) {
      const sealed = await openSealed(plan.archive.location.store, log.key, plan.archive.key, `archive of ${plan.archive.instanceId}`, { signal: ctx.signal })
      const binlog = spawnTool(MARIADB_BINLOG, [
        ...(i === 0 ? [`--start-position=${plan.startPosition}`] : []), `--stop-datetime=${isoSecond(plan.stopSecond)}`, '-',
      ], { account: ctx.account, signal: ctx.signal, env: { TZ: 'UTC' } })
      const client = spawnTool(MARIADB_CLIENT, [`--defaults-file=${options}`, '--binary-mode', '--batch'], { signal: ctx.signal })
      client.stdout!.resume()
      await allOrFirstFailure([
        pipeline(sealed, binlog.stdin!), pipeline(binlog.stdout!, client.stdin!), exited(binlog, 'mariadb-binlog'), exited(client, 'mariadb (binary log replay)'),
      ], [binlog, client])
    }
  })
}

/** BackupAdmin.restore for `server`; `engine` stops whatever an earlier attempt left running. */
export function mariadbRestore(server: MysqlFamilyServer, engine: EngineLifecycle): (ctx: InstanceContext, request: RestoreRequest) => Promise<void> {
  return async (ctx, request) => {
    const tip = request.chain.at(-1)
    if (!tip) throw new BadRequest('A restore needs at least one backup.')
    const replay = request.restoreTime ? await planReplay(request, tip, request.restoreTime) : undefined
    await engine.stop(ctx)
    await clearVolume(ctx, server)
    try {
      // Durable before anything records it ready: mbstream and --prepare write without fsyncs of their own.
      await writeTreeFlushed(ctx.volumeDir, layDown(ctx, request))
      await tracePhase(`mariadb ${ctx.instanceId}: maintenance server`, () => withMaintenanceServer(ctx, server, async (client) => {
        await client.query('FLUSH PRIVILEGES')
        await setServicePassword(ctx, client)
        if (!replay) return
        await replayLogs(ctx, replay)
        // The replayed history could have touched the service account; set this instance's password last.
        await setServicePassword(ctx, client)
      }))
      await writeFileAtomic(dataReadyPath(ctx, server), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
    } catch (err) {
      await engine.stop(ctx).catch(() => undefined)
      await clearVolume(ctx, server)
      throw err
    }
  }
}
