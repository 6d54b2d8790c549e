/**
 * Seeding a new replica: pg_basebackup from the source straight into the new instance's empty
 * data folder, streaming the WAL it needs through the replica's own slot, then the record that
 * makes every start of this instance a hot standby of that source (standby.ts).
 *
 * The replica's service login: a hot standby is read-only, so it cannot be given a service
 * password of its own (no ALTER ROLE); its roles are the source's. It logs in with its source's
 * service password, which the source's prepareSource hands over (`carry.servicePassword`) and the
 * seed keeps in this instance's guestDir. Root and users come from the source too.
 */
import { access } from 'node:fs/promises'
import { CofferError } from '../../../core/errors.js'
import { unrecordedEngine } from '../common/engine-errors.js'
import { removeTree, syncFileSystem, writeFileAtomic } from '../common/files.js'
import { readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import type { ReplicationSource } from '../replication.js'
import { dataDir, dataReady, postmaster, serialised } from './manager.js'
import { runTool } from './pg-tool.js'
import { ensureSlot } from './slots.js'
import { slotName, writeRecord } from './standby.js'

/** guestDir file of the replication account's credentials (prepareSource; a replica keeps its source's). */
export const ACCOUNT_SECRET = 'postgresql-replication-account'
export const SERVICE_SECRET = 'postgresql-service'

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)

/** The record and account a replica of `source` keeps; the source's fields as the node gave them. */
export async function recordReplicaOf(ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  const { instanceId, host, port, user, password } = source
  await writeSecret(ctx.guestDir, ACCOUNT_SECRET, { user, password })
  await writeRecord(ctx, { role: 'replica', source: { instanceId, host, port, user, password } })
}

export function seed(ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  return serialised(ctx, async () => {
    const carried = source.carry?.servicePassword
    if (carried) await writeSecret(ctx.guestDir, SERVICE_SECRET, { password: carried })
    const service = await readSecret<{ password?: string }>(ctx.guestDir, SERVICE_SECRET)
    if (!service?.password) {
      throw new CofferError('ENGINE_NOT_PREPARED', `Replica ${ctx.instanceId} needs its source's PostgreSQL service secret before it is seeded.`, { retryable: false })
    }
    // A completed seed is recorded (as prepare records its template copy): it is never redone over a live folder.
    if (!(await exists(dataReady(ctx)))) {
      const running = await postmaster(ctx)
      if (running) throw unrecordedEngine('PostgreSQL', ctx.instanceId, running.pid)
      // Whatever is there is a seed cut short.
      await removeTree(dataDir(ctx))
      await ensureSlot(source, slotName(ctx.instanceId))
      await runTool(ctx, 'pg_basebackup', [
        '-h', source.host, '-p', String(source.port), '-U', source.user, '-w',
        '-D', dataDir(ctx), '-X', 'stream', '-S', slotName(ctx.instanceId),
        // An immediate checkpoint on the source: the copy starts now, not at its next checkpoint.
        '--checkpoint=fast', '--no-manifest',
        // One flush of the file system below, instead of one fsync per file.
        '--no-sync',
      ], { login: source, timeoutMs: 0 })
      await syncFileSystem(dataDir(ctx))
      await writeFileAtomic(dataReady(ctx), `${ctx.version.versionNumber}\n`, { mode: 0o600, durable: true })
    }
    // The copied configuration files are the source's; the next start renders this instance's own.
    await recordReplicaOf(ctx, source)
  })
}
