/**
 * MariaDB backups with mariadb-backup (`mariabackup`): the running server's data streamed as
 * mbstream, through putSealed (zstd + GCM) to `<prefix>data.mbstream.zst.gcm`. An incremental
 * copies the pages changed since its parent's checkpoint (`--incremental-lsn`), so it needs no
 * base folder on the node. The tool runs as root with its option file in guestDir (the service
 * password); its own small files (checkpoints, the redo log it buffers) go to a scratch folder there.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { CofferError } from '../../../core/errors.js'
import type { BackupAdmin, BackupOutcome, BackupPosition, BackupRequest } from '../backup.js'
import { exited, putSealed } from '../common/sealed-objects.js'
import { tracePhase } from '../../../core/trace.js'
import type { EngineLifecycle, InstanceContext } from '../datastore.js'
import { mariadbArchiving } from './archive.js'
import { checkTables } from './check.js'
import { dataDir } from './manager.js'
import type { MysqlFamilyServer } from './manifest.js'
import { mariadbRestore } from './restore.js'
import { connectService } from './service-account.js'
import { killTool, MARIADB_BACKUP, spawnTool, withScratch, writeServiceOptions } from './tools.js'

/** The one object of a backup. */
export const dataObjectKey = (prefix: string): string => `${prefix}data.mbstream.zst.gcm`

/** `key = value` lines of mariadb-backup's xtrabackup_checkpoints and xtrabackup_info. */
function parseInfo(text: string): Map<string, string> {
  return new Map(text.split('\n').map((l) => /^(\w+)\s*=\s*(.*)$/.exec(l)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!.trim()]))
}

/** The backup's engine positions: LSNs, and where the binary log stood (absent while binary logs are off). */
async function readPosition(lsnDir: string): Promise<BackupPosition> {
  const checkpoints = parseInfo(await readFile(join(lsnDir, 'xtrabackup_checkpoints'), 'utf8'))
  const info = parseInfo(await readFile(join(lsnDir, 'xtrabackup_info'), 'utf8'))
  // binlog_pos = filename 'binlog.000002', position '379', GTID of the last change '0-1-9'
  const binlog = /filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(info.get('binlog_pos') ?? '')
  return {
    backupType: checkpoints.get('backup_type') ?? '',
    fromLsn: checkpoints.get('from_lsn') ?? '',
    toLsn: checkpoints.get('to_lsn') ?? '',
    lastLsn: checkpoints.get('last_lsn') ?? '',
    ...(binlog ? { binlogFile: binlog[1]!, binlogPosition: binlog[2]!, ...(binlog[3] ? { gtid: binlog[3] } : {}) } : {}),
  }
}

/** A running mariadb-backup streaming mbstream on `child.stdout`; `stream()`'s copy ends only once the tool has exited well. */
export interface BackupStream {
  readonly child: ChildProcess
  readonly stream: () => Readable
  /** Settles when the tool exits: resolves on success, rejects with its stderr otherwise. */
  readonly done: Promise<void>
  /** The consistent point: commits are blocked from BLOCK_COMMIT until BACKUP STAGE END, when the binlog position is read. */
  readonly takenAt: () => Date | undefined
}

/**
 * Starts mariadb-backup of the running instance `ctx` as Coffer (root), logging in as the service
 * account with `password`; its own files go to `dir` (a scratch folder in guestDir: the option file
 * with the password, the redo log it buffers). `lsnDir` gets xtrabackup_checkpoints and _info;
 * `fromLsn` makes an incremental. The stream fails when the tool does: a killed tool's short stream
 * never looks complete.
 */
export async function streamBackup(ctx: InstanceContext, dir: string, password: string, options: { readonly lsnDir?: string; readonly fromLsn?: string | undefined } = {}): Promise<BackupStream> {
  const target = join(dir, 'target')
  await mkdir(target, { mode: 0o700 })
  const config = await writeServiceOptions(ctx, dir, password, ['mariadb-backup'], { datadir: dataDir(ctx) })
  const child = spawnTool(MARIADB_BACKUP, [
    `--defaults-file=${config}`, '--backup', '--stream=mbstream', `--target-dir=${target}`, `--tmpdir=${target}`,
    ...(options.lsnDir ? [`--extra-lsndir=${options.lsnDir}`] : []),
    ...(options.fromLsn !== undefined ? [`--incremental-lsn=${options.fromLsn}`] : []),
  ], { signal: ctx.signal })
  let takenAt: Date | undefined
  child.stderr!.on('data', (d: Buffer) => {
    if (!takenAt && d.includes('BACKUP STAGE END')) takenAt = new Date()
  })
  const done = exited(child, 'mariadb-backup')
  done.catch(() => undefined)
  // Made on first use only: a backup hands the tool's stdout to zstd itself and must not read it here.
  let stream: Readable | undefined
  const toStream = (): Readable => {
    if (stream) return stream
    const s = child.stdout!.pipe(new Transform({
      transform: (chunk, _enc, next) => next(null, chunk),
      flush: (next) => void done.then(() => next(), next),
    }))
    child.stdout!.once('error', (err) => s.destroy(err))
    return (stream = s)
  }
  return { child, stream: toStream, done, takenAt: () => takenAt }
}

async function backup(ctx: InstanceContext, request: BackupRequest): Promise<BackupOutcome> {
  const fromLsn = request.parent?.position['toLsn']
  if (request.parent && !/^\d+$/.test(fromLsn ?? '')) {
    throw new CofferError('BAD_REQUEST', `Backup ${request.parent.backupId} records no checkpoint to build an incremental on; take a full backup.`, { retryable: false })
  }
  const { client, password } = await connectService(ctx)
  await client.end().catch(() => client.destroy())
  const outcome = await withScratch(ctx, async (dir) => {
    const lsnDir = join(dir, 'lsn')
    await mkdir(lsnDir, { mode: 0o700 })
    const { child, done, takenAt } = await streamBackup(ctx, dir, password, { lsnDir, ...(request.parent ? { fromLsn } : {}) })
    try {
      // zstd reads the tool's stdout itself; putSealed fails (and removes the object) unless the tool exits well.
      const put = await putSealed(request.location.store, dataObjectKey(request.prefix), { input: child.stdout!, done }, request.dataKey, { signal: ctx.signal, onProgress: request.onProgress })
      await done
      return { put, position: await readPosition(lsnDir), takenAt: takenAt() ?? new Date() }
    } finally {
      killTool(child)
    }
  })
  if (request.archive) {
    // Close the log the backup's position is in, so the archive reaches the backup at once; the next ship retries a failure.
    // (A first backup also ships every log written since the instance began: the archive was only just turned on.)
    await tracePhase(`mariadb ${ctx.instanceId}: archive ship`, () => mariadbArchiving.ship(ctx, request.archive!, { maxAgeSeconds: 0 })).catch(() => undefined)
  }
  const { plainBytes, ...stored } = outcome.put
  return { objects: [stored], dataBytes: plainBytes, position: outcome.position, takenAt: outcome.takenAt }
}

/** The `mariabackup` strategy for `server` (MariaDB's), whose engine `engine` runs. */
export function mariadbBackup(server: MysqlFamilyServer, engine: EngineLifecycle): BackupAdmin {
  return {
    strategy: 'mariabackup',
    supportsIncremental: true,
    supportsPointInTime: true,
    backup,
    restore: mariadbRestore(server, engine),
    check: checkTables,
    archiving: mariadbArchiving,
  }
}
