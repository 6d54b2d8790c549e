/**
 * The instance's WAL spool: PostgreSQL's archive_command only copies each finished WAL file into
 * `<volume>/pgbackrest-spool/`, as the engine's own account, and Coffer (archive.ts) pushes the
 * spooled files to pgBackRest's repository as root, so the repository's secrets never meet the
 * tenant's account. Until archiving is enabled the folder does not exist and archive_command
 * succeeds without copying: WAL is recycled as without archiving and never fills the volume.
 * (pgBackRest's backup checks that archive_command names pgbackrest: the folder's name does.)
 */
import { join } from 'node:path'
import type { InstanceContext } from '../datastore.js'

export const spoolDir = (ctx: Pick<InstanceContext, 'volumeDir'>): string => join(ctx.volumeDir, 'pgbackrest-spool')

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** archive_command: copy under a temporary name then rename, so the spool never holds half a file. */
export function archiveCommand(ctx: Pick<InstanceContext, 'volumeDir'>): string {
  const dir = shellQuote(spoolDir(ctx))
  return `[ ! -d ${dir} ] || { cp %p ${dir}/.%f.tmp && mv -f ${dir}/.%f.tmp ${dir}/%f; }`
}
