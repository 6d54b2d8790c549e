/**
 * Lays a Redis backup into a new instance's empty volume: the snapshot becomes the base file of
 * the append-only folder (with `appendonly yes` Redis 7 ignores a dump.rdb and would start empty),
 * and the backup's users go into the ACL file with this instance's own `default` and service
 * lines. Everything is decrypted and checked before it is renamed into place; on any failure
 * what was laid down is removed.
 */
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { BadRequest, CofferError } from '../../../core/errors.js'
import { tracePhase } from '../../../core/trace.js'
import type { RestoreRequest, StoredBackup } from '../backup.js'
import type { ObjectStore } from '../../../storage/object-store.js'
import { removeTree, syncDir, writeFileAtomic } from '../common/files.js'
import { writeFileFlushed } from '../common/flush-behind.js'
import { runningAsRoot } from '../common/os-account.js'
import { openSealed, unsealInto } from '../common/sealed-objects.js'
import type { InstanceContext } from '../datastore.js'
import { AOF_BASE, AOF_DIR, AOF_MANIFEST, aclObject, aofManifest, rdbObject } from './backup-layout.js'
import { ensureServicePassword } from './client.js'
import { renderAclFile } from './config.js'
import { engineDir, redisPaths, serverPid } from './manager.js'

/** An ACL file larger than this is not one Coffer wrote. */
const MAX_ACL_BYTES = 64 * 1024 * 1024

export async function restoreRdb(ctx: InstanceContext, request: RestoreRequest): Promise<void> {
  if (request.restoreTime) throw new BadRequest('Redis backups have no point in time: restore a backup as it was taken, without a restore time.')
  const [backup, ...more] = request.chain
  if (!backup || more.length > 0) throw new BadRequest(`A Redis backup is one full snapshot; a restore takes exactly one backup, not ${request.chain.length}.`)
  const { store } = request.location
  const paths = redisPaths(ctx)
  const opts = { ...(ctx.signal ? { signal: ctx.signal } : {}) }
  const removeLaid = async (): Promise<void> => {
    await removeTree(paths.dataDir)
    await rm(paths.aclFile, { force: true })
  }
  // Run again after a crash, it starts over: before the first start only this restore wrote here.
  const running = await serverPid(ctx)
  if (running) throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} has a running Redis (pid ${running}); a restore goes only into a new instance's empty volume.`, { retryable: false })
  await removeLaid()
  try {
    await engineDir(ctx, paths.dataDir)
    const users = await readSmall(await openSealed(store, aclObject(backup.prefix), backup.dataKey, backup.backupId, opts), backup.backupId)
    const staging = join(paths.dataDir, `.restore-${randomBytes(4).toString('hex')}`)
    await engineDir(ctx, staging)
    await tracePhase(`redis ${ctx.instanceId}: unseal`, () => unsealToFile(store, rdbObject(backup.prefix), backup, join(staging, AOF_BASE), ctx, { ...opts, onProgress: request.onProgress }))
    await writeFileAtomic(join(staging, AOF_MANIFEST), aofManifest(), { mode: 0o600, account: ctx.account, durable: true })
    await rename(staging, join(paths.dataDir, AOF_DIR))
    await syncDir(paths.dataDir)
    await writeFileAtomic(paths.aclFile, renderAclFile(users, await ensureServicePassword(ctx)), { mode: 0o600, account: ctx.account, durable: true })
  } catch (err) {
    await removeLaid()
    throw (err as NodeJS.ErrnoException).code === 'ENOSPC'
      ? new CofferError('DISK_FULL', `The volume is too small for backup ${backup.backupId}: restore it to a volume larger than the backup's data.`, { retryable: false })
      : err
  }
}

/** Unseals an object into a new file at `path` (mode 0600, the engine's account), durably; zstd writes the file itself, flushed behind. */
async function unsealToFile(store: ObjectStore, key: string, backup: StoredBackup, path: string, ctx: InstanceContext, options: Parameters<typeof unsealInto>[5]): Promise<void> {
  const file = await open(path, 'wx', 0o600)
  try {
    if (runningAsRoot()) await file.chown(ctx.account.uid, ctx.account.gid)
    await writeFileFlushed(file, unsealInto(store, key, backup.dataKey, backup.backupId, file.fd, options))
  } finally {
    await file.close()
  }
}

/** A sealed object's text, read whole (an ACL file is small); OBJECT_CORRUPT fails it like any read. */
async function readSmall(source: Readable, backupId: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of source as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_ACL_BYTES) {
      source.destroy()
      throw new CofferError('OBJECT_CORRUPT', `backup ${backupId}: its users object is over ${MAX_ACL_BYTES} bytes, so it is not one Coffer wrote.`, { retryable: false })
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
