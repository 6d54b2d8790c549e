/**
 * Redis backups as RDB snapshots (strategy `rdb`): BGSAVE while the engine keeps serving, then the
 * file streamed through Coffer's sealed pipeline, and the ACL users beside it. Full backups only:
 * Redis has no incremental snapshot and no change log to replay to a point in time.
 */
import { open, unlink } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { BadRequest, CofferError } from '../../../core/errors.js'
import type { BackupAdmin, BackupOutcome, BackupRequest } from '../backup.js'
import { putSealed } from '../common/sealed-objects.js'
import { tracePhase } from '../../../core/trace.js'
import type { InstanceContext } from '../datastore.js'
import { aclObject, rdbObject } from './backup-layout.js'
import { redisCheck } from './check.js'
import { withService } from './client.js'
import { REPL_USER, SERVICE_USER } from './manifest.js'
import { restoreRdb } from './restore.js'
import { infoFields, snapshot } from './snapshot.js'

/** ACL LIST lines without Coffer's own (`default`, the service and replication users): a restore puts its own. */
export function clientAclLines(list: readonly string[]): string {
  const ours = new Set(['default', SERVICE_USER, REPL_USER])
  return list.filter((line) => !ours.has(line.split(/\s+/)[1] ?? '')).map((line) => `${line}\n`).join('')
}

/** `REDIS0010` → '10': the RDB format version a restore's Redis must be able to read. */
function rdbVersionOf(header: Buffer): string {
  const match = /^REDIS(\d{4})$/.exec(header.toString('latin1'))
  if (!match?.[1]) throw new CofferError('BACKUP_TOOL_FAILED', 'The file Redis saved does not start like an RDB file; nothing was stored.', { retryable: false })
  return String(Number(match[1]))
}

async function backup(ctx: InstanceContext, request: BackupRequest): Promise<BackupOutcome> {
  if (request.parent) throw new BadRequest('Redis backups are full snapshots only; make the backup without a parent.')
  const { store } = request.location
  const opts = { ...(ctx.signal ? { signal: ctx.signal } : {}) }
  return withService(ctx, async (client) => {
    const redisVersion = infoFields(await client.info('server')).get('redis_version') ?? 'unknown'
    const users = clientAclLines((await client.call('ACL', 'LIST')) as string[])
    const snap = await tracePhase(`redis ${ctx.instanceId}: bgsave`, () => snapshot(client, ctx.signal, { withoutLzf: true }))
    // Opened at once: a later BGSAVE renames a new file over the path, and this handle keeps ours.
    const file = await open(snap.path, 'r')
    try {
      const header = Buffer.alloc(9)
      await file.read(header, 0, header.length, 0)
      const rdbVersion = rdbVersionOf(header)
      const acl = await putSealed(store, aclObject(request.prefix), Readable.from([Buffer.from(users, 'utf8')]), request.dataKey, opts)
      try {
        // zstd reads the file itself, from its offset (0: the header was read with a position).
        const rdb = await putSealed(store, rdbObject(request.prefix), { input: file.fd, done: Promise.resolve() }, request.dataKey, {
          ...opts,
          onProgress: request.onProgress,
        })
        return {
          objects: [rdb, acl].map(({ plainBytes: _, ...stored }) => stored),
          dataBytes: rdb.plainBytes,
          position: { lastSave: String(snap.lastSave), rdbVersion, redisVersion },
          takenAt: new Date(snap.lastSave * 1000),
        }
      } catch (err) {
        await store.delete(acl.key).catch(() => undefined)
        throw err
      }
    } finally {
      await file.close().catch(() => undefined)
      // The snapshot is in the store now; on the volume it would only hold a second copy of the data.
      await unlink(snap.path).catch(() => undefined)
    }
  })
}

/** Redis's BackupAdmin. */
export const redisBackup: BackupAdmin = {
  strategy: 'rdb',
  supportsIncremental: false,
  supportsPointInTime: false,
  backup,
  restore: restoreRdb,
  check: redisCheck,
}
