/**
 * Restores a pgBackRest backup (and the archive up to a time) into a new instance's empty volume,
 * then makes it this instance's: its own config, files owned by its account, its own service
 * password, recovered to the end (or the target time) and promoted, then stopped.
 *
 * Recovery runs the engine as the instance's account, which must never hold the repository's
 * secrets: so pgBackRest is not its restore_command. Coffer (root) fetches the WAL recovery needs
 * with `archive-get` into a folder on the volume first, and restore_command only copies from it.
 * That folder holds the WAL from the backup's start to the archive's end when a time is asked; a
 * restore to the backup itself needs none when the backup holds its own WAL (`--archive-copy`,
 * restored into pg_wal, where recovery looks when restore_command finds nothing).
 *
 * During recovery the engine listens on no address and lets only Coffer's service account in, on
 * its private socket, without a password (the restored cluster still has the source instance's).
 */
import { chown, mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError } from '../../../core/errors.js'
import type { RestoreRequest, StoredBackup } from '../backup.js'
import { chownTree, removeTree, writeFileAtomic } from '../common/files.js'
import { tailFile } from '../common/log-tail.js'
import { runningAsRoot } from '../common/os-account.js'
import { isAlive, signalUntilExit, spawnDetached } from '../common/process.js'
import type { InstanceContext } from '../datastore.js'
import { repoOfBackup } from './repository.js'
import { openClient, type PgClient } from './client.js'
import { dataDir, logDir, markDataReady, runningPostmaster, writeConfig } from './manager.js'
import { binDir, SERVICE_USER } from './manifest.js'
import { backupCorrupt, looksCorrupt, pgbackrest, type Repo } from './pgbackrest.js'
import { replaceServicePassword } from './service-account.js'
import { tracePhase } from '../../../core/trace.js'

const RECOVERY_TIMEOUT_MS = 30 * 60_000

/** Recorded in a backup's position when pgBackRest copied the WAL to make it consistent into it (`--archive-copy`). */
export const WAL_IN_BACKUP = 'walInBackup'

const stageDir = (ctx: InstanceContext): string => join(ctx.volumeDir, 'pgbackrest-restore')

async function ownedDir(ctx: InstanceContext, path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
  if (runningAsRoot()) await chown(path, ctx.account.uid, ctx.account.gid)
}

/** The archive's WAL files recovery may ask for: from the backup's start to its stop, or on to the end. */
async function walToFetch(repo: Repo, backup: StoredBackup, toEnd: boolean): Promise<string[]> {
  const listing = JSON.parse(await pgbackrest(repo, 'repo-ls', ['--output=json', '--recurse', `archive/${repo.stanza}`])) as Record<string, { type: string }>
  const start = backup.position.walStart ?? ''
  const stop = backup.position.walStop ?? ''
  const names = new Set<string>()
  for (const [path, entry] of Object.entries(listing)) {
    if (entry.type !== 'file') continue
    const base = path.slice(path.lastIndexOf('/') + 1)
    if (/^[0-9A-F]{8}\.history$/.test(base)) {
      if (toEnd) names.add(base)
      continue
    }
    const seg = /^([0-9A-F]{24})-[0-9a-f]{40}/.exec(base)?.[1]
    if (!seg) continue
    // Timeline first, then the position: a later timeline's files count only when going to the end.
    const pos = seg.slice(8)
    if (pos < start.slice(8)) continue
    if (!toEnd && (pos > stop.slice(8) || seg.slice(0, 8) !== start.slice(0, 8))) continue
    names.add(seg)
  }
  return [...names].sort()
}

async function stageWal(ctx: InstanceContext, repo: Repo, backup: StoredBackup, toEnd: boolean): Promise<void> {
  const stage = stageDir(ctx) // made by the restore, which writes recovery's pg_hba there too
  // Two at a time (a node's two cores): each archive-get is a process that mostly starts, reads
  // and decrypts one segment; one after another they took 1-3 s of a restore.
  const names = await walToFetch(repo, backup, toEnd)
  const fetchNext = async (): Promise<void> => {
    for (let name = names.shift(); name !== undefined; name = names.shift()) {
      await pgbackrest(repo, 'archive-get', [name, join(stage, name)], { pg: { dataDir: dataDir(ctx) }, signal: ctx.signal }).catch((err: unknown) => {
        names.length = 0 // the other fetcher stops after its current segment
        throw err
      })
    }
  }
  // Both settle before the failure is thrown: the caller then removes the folder they write into.
  const failed = (await Promise.allSettled([fetchNext(), fetchNext()])).find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
  await chownTree(stage, ctx.account)
}

/** A timestamptz literal PostgreSQL reads in any DateStyle. */
const pgTime = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '+00')

async function newestLog(ctx: InstanceContext): Promise<string> {
  const dir = logDir(ctx)
  const files = await Promise.all((await readdir(dir).catch(() => [] as string[])).map(async (f) => ({ f, t: (await stat(join(dir, f))).mtimeMs })))
  const tails = await Promise.all(files.sort((a, b) => b.t - a.t).slice(0, 2).map((x) => tailFile(join(dir, x.f), 15)))
  return tails.join('\n')
}

/** Waits until recovery has ended and the engine is promoted; returns a trusted service login. */
async function waitPromoted(ctx: InstanceContext, pid: number): Promise<PgClient> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS
  for (;;) {
    ctx.signal?.throwIfAborted()
    if (!(await isAlive(pid))) {
      throw new CofferError('ENGINE', `PostgreSQL of instance ${ctx.instanceId} stopped during recovery of the backup; see its log.`, { retryable: false, details: await newestLog(ctx) })
    }
    const client = await openClient(ctx, 'trust', 'postgres', 2_000).catch(() => undefined)
    if (client) {
      const inRecovery = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r').then((q) => q.rows[0]!.r, () => true)
      if (!inRecovery) return client
      await client.end().catch(() => undefined)
    }
    if (Date.now() > deadline) throw new CofferError('TIMEOUT', `Recovery of instance ${ctx.instanceId} did not end within ${RECOVERY_TIMEOUT_MS / 60_000} minutes.`, { details: await newestLog(ctx) })
    await sleep(50)
  }
}

/** Starts the engine to recover on its socket only; resolves with its pid. */
async function startRecovery(ctx: InstanceContext, restoreTime: Date | undefined): Promise<number> {
  const data = dataDir(ctx)
  const stage = stageDir(ctx)
  const hba = join(stage, 'pg_hba.conf')
  const own = { mode: 0o600, account: ctx.account }
  await writeFileAtomic(hba, `local all ${SERVICE_USER} trust\n`, own)
  await writeFileAtomic(join(data, 'recovery.signal'), '', own)
  const target = restoreTime ? [`recovery_target_time=${pgTime(restoreTime)}`] : ['recovery_target=immediate']
  const settings = [
    'listen_addresses=',
    `hba_file=${hba}`,
    `restore_command=cp '${stage}'/%f %p`,
    'archive_mode=off',
    'recovery_target_action=promote',
    ...target,
  ]
  return spawnDetached({
    command: join(binDir(ctx.version), 'postgres'),
    args: ['-D', data, ...settings.flatMap((s) => ['-c', s])],
    account: ctx.account,
    logFile: join(logDir(ctx), 'startup.log'),
    cwd: data,
  })
}

export async function postgresqlRestore(ctx: InstanceContext, request: RestoreRequest): Promise<void> {
  const last = request.chain.at(-1)
  if (!last?.position.label) throw new CofferError('VALIDATION', 'A restore needs the pgBackRest backup to restore (its chain was empty).', { retryable: false })
  if (request.restoreTime && !request.archive) throw new CofferError('VALIDATION', 'A restore to a time needs the instance\'s archive.', { retryable: false })
  const running = await runningPostmaster(ctx)
  if (running) throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} runs an engine; a restore goes only into an empty volume.`, { retryable: false, details: `pid ${running}` })
  const repo = await repoOfBackup(request.location, last, request.archive)
  const laidDown = [dataDir(ctx), stageDir(ctx), logDir(ctx)]
  const clear = async (): Promise<void> => {
    for (const p of laidDown) await removeTree(p)
  }
  // Run again after a crash: what an earlier run laid down goes first.
  await clear()
  let pid: number | undefined
  try {
    await ownedDir(ctx, dataDir(ctx))
    await ownedDir(ctx, logDir(ctx))
    await ownedDir(ctx, stageDir(ctx))
    try {
      await tracePhase(`postgresql ${ctx.instanceId}: pgbackrest restore`, () => pgbackrest(repo, 'restore', [`--set=${last.position.label}`, '--type=none'], { pg: { dataDir: dataDir(ctx) }, signal: ctx.signal }))
      // A backup holding its own WAL (position WAL_IN_BACKUP) restored to itself needs none from the archive.
      if (request.restoreTime || last.position[WAL_IN_BACKUP] !== 'y') {
        await tracePhase(`postgresql ${ctx.instanceId}: stage wal`, () => stageWal(ctx, repo, last, !!request.restoreTime))
      }
    } catch (err) {
      throw looksCorrupt(err) ? backupCorrupt(last.backupId, err) : err
    }
    await tracePhase(`postgresql ${ctx.instanceId}: chown`, () => chownTree(dataDir(ctx), ctx.account))
    await writeConfig(ctx)
    pid = await startRecovery(ctx, request.restoreTime)
    const client = await tracePhase(`postgresql ${ctx.instanceId}: recovery`, () => waitPromoted(ctx, pid!))
    try {
      await replaceServicePassword(ctx, client)
    } finally {
      await client.end().catch(() => undefined)
    }
    if (!(await tracePhase(`postgresql ${ctx.instanceId}: stop after recovery`, () => signalUntilExit(pid!, [['SIGINT', 60_000], ['SIGQUIT', 10_000], ['SIGKILL', 10_000]])))) {
      throw new CofferError('ENGINE_STOP_FAILED', `PostgreSQL of instance ${ctx.instanceId} did not stop after its recovery.`, { details: `pid ${pid}` })
    }
    pid = undefined
    await removeTree(stageDir(ctx))
    await markDataReady(ctx)
  } catch (err) {
    if (pid !== undefined) await signalUntilExit(pid, [['SIGKILL', 10_000]]).catch(() => undefined)
    await clear()
    throw err
  }
}
