/**
 * MariaDB backups with mariadb-backup (`mariabackup`): the running server's data streamed as
 * mbstream, through putSealed (zstd + GCM) to `<prefix>data.mbstream.zst.gcm`. An incremental
 * copies the pages changed since its parent's checkpoint (`--incremental-lsn`), so it needs no
 * base folder on the node. The tool runs as root with its option file in guestDir (the service
 * password); its own small files (checkpoints, the redo log it buffers) go to a scratch folder there.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import type { BackupAdmin, BackupOutcome, BackupPosition, BackupRequest } from '../backup.js'
import { exited, putSealed } from '../common/sealed-objects.js'
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

async function backup(ctx: InstanceContext, request: BackupRequest): Promise<BackupOutcome> {
  const fromLsn = request.parent?.position['toLsn']
  if (request.parent && !/^\d+$/.test(fromLsn ?? '')) {
    throw new CofferError('BAD_REQUEST', `Backup ${request.parent.backupId} records no checkpoint to build an incremental on; take a full backup.`, { retryable: false })
  }
  const { client, password } = await connectService(ctx)
  await client.end().catch(() => client.destroy())
  const outcome = await withScratch(ctx, async (dir) => {
    const target = join(dir, 'target')
    const lsnDir = join(dir, 'lsn')
    await mkdir(target, { mode: 0o700 })
    await mkdir(lsnDir, { mode: 0o700 })
    const options = await writeServiceOptions(ctx, dir, password, ['mariadb-backup'], { datadir: dataDir(ctx) })
    const child = spawnTool(MARIADB_BACKUP, [
      `--defaults-file=${options}`, '--backup', '--stream=mbstream', `--target-dir=${target}`, `--extra-lsndir=${lsnDir}`, `--tmpdir=${target}`,
      ...(request.parent ? [`--incremental-lsn=${fromLsn}`] : []),
    ], { signal: ctx.signal })
    // The consistent point: commits are blocked from BLOCK_COMMIT until BACKUP STAGE END, when the binlog position is read.
    let takenAt: Date | undefined
    child.stderr!.on('data', (d: Buffer) => {
      if (!takenAt && d.includes('BACKUP STAGE END')) takenAt = new Date()
    })
    const done = exited(child, 'mariadb-backup')
    done.catch(() => undefined)
    try {
      // zstd reads the tool's stdout itself; putSealed fails (and removes the object) unless the tool exits well.
      const put = await putSealed(request.location.store, dataObjectKey(request.prefix), { input: child.stdout!, done }, request.dataKey, { signal: ctx.signal, onProgress: request.onProgress })
      await done
      return { put, position: await readPosition(lsnDir), takenAt: takenAt ?? new Date() }
    } finally {
      killTool(child)
    }
  })
  if (request.archive) {
    // Close the log the backup's position is in, so the archive reaches the backup at once; the next ship retries a failure.
    await mariadbArchiving.ship(ctx, request.archive, { maxAgeSeconds: 0 }).catch(() => undefined)
  }
  const { key, size, sha256, plainBytes } = outcome.put
  return { objects: [{ key, size, sha256 }], dataBytes: plainBytes, position: outcome.position, takenAt: outcome.takenAt }
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
