/**
 * The replica's half of a seed (the source's half is snapshot.ts): the source's mariadb-backup
 * stream unpacked into the new instance's empty volume with `mbstream -x` and prepared, both as the
 * instance's account, as a restore does (restore.ts); then a private run of the server without
 * grant tables (maintenance.ts) that gives the service account THIS instance's password (the copy
 * holds the source's), starts the binary log at the copy's GTID position, and points the replica
 * threads at the source. They start with the engine's own start, read-only (replication-role.ts).
 */
import { readdir, readFile, rename, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { CofferError } from '../../../core/errors.js'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { exited } from '../common/sealed-objects.js'
import type { EngineLifecycle, InstanceContext } from '../datastore.js'
import type { ReplicationSource } from '../replication.js'
import { withMaintenanceServer } from './maintenance.js'
import { cnfPath, dataDir, dataReadyPath, spawnedPidPath } from './manager.js'
import type { MysqlFamilyServer } from './manifest.js'
import { changeMaster, saveCredentials } from './replication-account.js'
import { writeRole } from './replication-role.js'
import { ownedDir } from './restore.js'
import { setServicePassword } from './service-account.js'
import { allOrFirstFailure, MARIADB_BACKUP, MBSTREAM, runTool, spawnTool } from './tools.js'

/** What a seed lays on the volume; removed on failure and before starting over. */
const LAID_DOWN = ['seed', 'data', 'binlog', 'log', 'tmp', 'no-files']

/** A GTID position as MariaDB writes it: `domain-server-seq` entries, comma-separated; empty when nothing was ever logged. */
const GTID_POSITION = /^(\d+-\d+-\d+)(,\d+-\d+-\d+)*$/

async function clearVolume(ctx: InstanceContext, server: MysqlFamilyServer): Promise<void> {
  for (const name of LAID_DOWN) await removeTree(join(ctx.volumeDir, name))
  await removeTree(cnfPath(ctx))
  await removeTree(dataReadyPath(ctx, server))
  await removeTree(spawnedPidPath(ctx, server))
}

/** The copy's GTID position, from xtrabackup_binlog_info (`file<TAB>position<TAB>gtid`). */
async function copiedPosition(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'xtrabackup_binlog_info'), 'utf8').catch(() => undefined)
  if (text === undefined) {
    throw new CofferError('ENGINE_STATE_CONFLICT', 'The source\'s snapshot records no binary log position: its binary log is off, so no replica can follow it.', { retryable: false })
  }
  const gtid = (text.trim().split(/\s+/)[2] ?? '').trim()
  if (gtid !== '' && !GTID_POSITION.test(gtid)) {
    throw new CofferError('ENGINE_STATE_CONFLICT', `The source's snapshot records a GTID position Coffer does not understand: ${JSON.stringify(gtid.slice(0, 200))}.`, { retryable: false })
  }
  return gtid
}

/** Unpacks and prepares the snapshot as the data folder; resolves with its GTID position. */
async function layDown(ctx: InstanceContext, snapshot: Readable): Promise<string> {
  const scratch = await ownedDir(ctx, join(ctx.volumeDir, 'seed'))
  const full = await ownedDir(ctx, join(scratch, 'full'))
  const asAccount = { account: ctx.account, signal: ctx.signal }
  const unpack = spawnTool(MBSTREAM, ['-x', '-C', full], asAccount)
  unpack.stdout!.resume()
  await allOrFirstFailure([pipeline(snapshot, unpack.stdin!), exited(unpack, 'mbstream')], [unpack])
  // --no-defaults first: no option file of the node's; the tool reads the copy's own backup-my.cnf.
  await runTool(MARIADB_BACKUP, ['--no-defaults', '--prepare', `--target-dir=${full}`, `--tmpdir=${scratch}`], asAccount)
  const gtid = await copiedPosition(full)
  for (const name of await readdir(full)) if (/^xtrabackup_|^backup-my\.cnf$/.test(name)) await removeTree(join(full, name))
  await rename(full, dataDir(ctx))
  await chmod(dataDir(ctx), 0o700)
  await removeTree(scratch)
  return gtid
}

/**
 * Seeds `ctx` (a new instance's empty volume) from `snapshot` (snapshot.ts, run for the source on
 * its node) as a replica of `source`, and leaves the engine stopped.
 */
export function seedReplica(server: MysqlFamilyServer, engine: EngineLifecycle) {
  return async (ctx: InstanceContext, source: ReplicationSource, snapshot?: Readable): Promise<void> => {
    if (!snapshot) {
      throw new CofferError('NOT_IMPLEMENTED', `A MariaDB replica is seeded from a copy of its source (replication.snapshot on the source's node), which instance ${ctx.instanceId} was not given.`, { retryable: false })
    }
    try {
      // A seed after a crash may have left its private server running.
      await engine.stop(ctx)
      await clearVolume(ctx, server)
      // Before the first start of any server on this volume: every start from now on is read-only.
      await writeRole(ctx, { role: 'replica' })
      await saveCredentials(ctx, source)
      const gtid = await layDown(ctx, snapshot)
      // With its binary log (each statement here unlogged: the session has sql_log_bin = 0).
      await withMaintenanceServer(ctx, server, async (c) => {
        await c.query('FLUSH PRIVILEGES')
        await setServicePassword(ctx, c)
        // The log starts where the copy is, so that once promoted this instance numbers its own
        // transactions after its source's, and its replicas find their position in its log.
        await c.query('RESET MASTER')
        await c.query('SET GLOBAL gtid_binlog_state = ?', [gtid])
        await c.query('SET GLOBAL gtid_slave_pos = ?', [gtid])
        await changeMaster(c, source, false)
      }, { binlog: true })
      await writeFileAtomic(dataReadyPath(ctx, server), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
    } catch (err) {
      // Ends the source's tool too, whatever failed.
      snapshot.destroy()
      await engine.stop(ctx).catch(() => undefined)
      await clearVolume(ctx, server)
      throw err
    }
  }
}
