/**
 * The source's half of a replica's seed, run on the source's node: mariadb-backup of the running
 * source streamed as mbstream (backup.ts's tool run, to a stream instead of the object store). The
 * stream carries its own GTID position (xtrabackup_binlog_info), so the replica's half (seed.ts)
 * needs nothing else from the source but the replication account.
 */
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { removeTree } from '../common/files.js'
import type { InstanceContext } from '../datastore.js'
import { streamBackup } from './backup.js'
import { connectService } from './service-account.js'
import { killTool } from './tools.js'

/**
 * A consistent copy of the running source `ctx`. The stream ends only once the tool has exited
 * well, and fails when it does not; destroying it kills the tool. The tool's scratch folder (in
 * guestDir: the option file with the service password) is removed once the tool has exited.
 */
export async function snapshot(ctx: InstanceContext): Promise<Readable> {
  const { client, password } = await connectService(ctx)
  await client.end().catch(() => client.destroy())
  const dir = await mkdtemp(join(ctx.guestDir, 'mariadb-snapshot-'))
  try {
    const { child, stream: toStream, done } = await streamBackup(ctx, dir, password)
    const stream = toStream()
    const clean = (): Promise<void> => removeTree(dir).catch(() => undefined)
    done.then(clean, clean)
    stream.once('close', () => killTool(child))
    return stream
  } catch (err) {
    await removeTree(dir)
    throw err
  }
}
