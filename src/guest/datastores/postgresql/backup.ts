/**
 * PostgreSQL backups with pgBackRest (pgbackrest.ts): full, or incremental to the stanza's latest
 * backup, of the running engine into the instance's repository, with WAL archiving on (archive.ts).
 * pgBackRest keeps its own repository; under the backup's prefix Coffer stores only the way into
 * it (repository.ts).
 */
import { CofferError } from '../../../core/errors.js'
import type { BackupAdmin, BackupOutcome, BackupRequest } from '../backup.js'
import type { InstanceContext } from '../datastore.js'
import { pgSideOf, postgresqlArchiving, repoOf, servicePassword, shipWhile } from './archive.js'
import { postgresqlDatabases } from './databases.js'
import { backupCorrupt, looksCorrupt, pgbackrest, removeRepoPath, stanzaInfo, type InfoBackup, type Repo } from './pgbackrest.js'
import { repoOfBackup, repositoryKey, sealRepository } from './repository.js'
import { postgresqlRestore, WAL_IN_BACKUP } from './restore.js'
import { withChainView } from './verify-view.js'
import { withService } from './service-account.js'
import { tracePhase } from '../../../core/trace.js'

/** pgBackRest's backup labels: `YYYYMMDD-HHMMSSF`, and `..._YYYYMMDD-HHMMSS{D,I}` for the ones on top. */
const LABEL = /^\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?$/

/** Removes backup folders pgBackRest left without recording them (a backup cut short). */
async function removeUnrecorded(repo: Repo): Promise<void> {
  const recorded = new Set((await stanzaInfo(repo)).backups.map((b) => b.label))
  const listing = JSON.parse(await pgbackrest(repo, 'repo-ls', ['--output=json', `backup/${repo.stanza}`])) as Record<string, { type: string }>
  for (const [name, entry] of Object.entries(listing)) {
    if (entry.type === 'path' && LABEL.test(name) && !recorded.has(name)) await removeRepoPath(repo, `backup/${repo.stanza}/${name}`)
  }
}

function positionOf(b: InfoBackup): Record<string, string> {
  return {
    label: b.label,
    type: b.type,
    ...(b.prior ? { prior: b.prior } : {}),
    lsnStart: b.lsn.start,
    lsnStop: b.lsn.stop,
    walStart: b.archive.start,
    walStop: b.archive.stop,
  }
}

async function backup(ctx: InstanceContext, request: BackupRequest): Promise<BackupOutcome> {
  const archive = request.archive
  if (!archive) throw new CofferError('VALIDATION', 'A PostgreSQL backup needs the instance\'s archive (pgBackRest keeps backups and WAL in one repository).', { retryable: false })
  const repo = repoOf(request.location, archive)
  await postgresqlArchiving.enable(ctx, archive)
  const before = await stanzaInfo(repo, ctx.signal)
  if (request.parent) {
    const tip = before.backups.at(-1)
    if (!tip || tip.label !== request.parent.position.label) {
      throw new CofferError('VALIDATION', `Backup ${request.parent.backupId} is not the instance's latest backup: incremental backups chain only from the latest one. Make a full backup, or an incremental of the latest.`, { retryable: false })
    }
  }
  const labels = new Set(before.backups.map((b) => b.label))
  let made: InfoBackup | undefined
  let finishedAt: number
  try {
    const password = await servicePassword(ctx)
    // --archive-copy: the WAL that makes the copy consistent goes into the backup too, so a restore
    // to the backup itself needs nothing from the archive (no archive-get per segment).
    const args = [`--type=${request.parent ? 'incr' : 'full'}`, '--start-fast', '--archive-copy']
    await tracePhase(`postgresql ${ctx.instanceId}: pgbackrest backup`, () => shipWhile(ctx, repo, pgbackrest(repo, 'backup', args, { pg: pgSideOf(ctx, password), signal: ctx.signal })))
    finishedAt = Date.now()
    made = (await stanzaInfo(repo)).backups.find((b) => !labels.has(b.label))
    if (!made) throw new CofferError('BACKUP_TOOL_FAILED', 'pgbackrest backup ended without recording a backup.', { retryable: false })
    const sealed = await sealRepository(request.location.store, request, repo)
    // 2.45's info tells no progress of a running backup: the bytes are reported once, at the end.
    request.onProgress?.(made.info.size)
    return {
      objects: [sealed],
      dataBytes: made.info.size,
      position: { ...positionOf(made), [WAL_IN_BACKUP]: 'y' },
      // info's stop time is whole seconds, taken after the backup became consistent.
      takenAt: new Date(Math.min((made.timestamp.stop + 1) * 1000, finishedAt)),
    }
  } catch (err) {
    if (made) await pgbackrest(repo, 'expire', [`--set=${made.label}`]).catch(() => undefined)
    await removeUnrecorded(repo).catch(() => undefined)
    await request.location.store.delete(repositoryKey(request.prefix)).catch(() => undefined)
    throw err
  }
}

/**
 * The lines of verify's text report that fail this chain: its backups' `backup: <label>, status: ...`
 * lines, a backup of it the report does not name, and any WAL the archive sections count as invalid
 * (a restore replays WAL too).
 */
function invalidIn(report: string, labels: ReadonlySet<string>): string[] {
  const bad: string[] = []
  const checked = new Set<string>()
  let inArchive = false
  for (const line of report.split('\n')) {
    const b = /backup: (\S+), status: ([^,\s]+)/.exec(line)
    const a = /archiveId: \S+, total WAL checked: (\d+), total valid WAL: (\d+)/.exec(line)
    if (b) {
      inArchive = false
      checked.add(b[1]!)
      if (labels.has(b[1]!) && b[2] !== 'valid') bad.push(line.trim())
    } else if (a) {
      inArchive = true
      if (a[1] !== a[2]) bad.push(line.trim())
    } else if (inArchive && [...line.matchAll(/(?:missing|checksum invalid|size invalid|other): (\d+)/g)].some((m) => Number(m[1]) > 0)) {
      bad.push(line.trim())
    }
  }
  for (const label of labels) if (!checked.has(label)) bad.push(`backup: ${label} was not checked by verify`)
  return bad
}

export const postgresqlBackup: BackupAdmin = {
  strategy: 'pgbackrest',
  supportsIncremental: true,
  supportsPointInTime: true,
  backup,
  restore: postgresqlRestore,

  async check(ctx: InstanceContext): Promise<{ databases: number; tables: number }> {
    const databases = await postgresqlDatabases.list(ctx)
    let tables = 0
    for (const db of databases) {
      ctx.signal?.throwIfAborted()
      tables += await withService(
        ctx,
        async (c) => {
          const { rows } = await c.query<{ schema: string; name: string }>(
            `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
          )
          for (const t of rows) {
            try {
              await c.query(`SELECT count(*) FROM ${c.escapeIdentifier(t.schema)}.${c.escapeIdentifier(t.name)}`)
            } catch (err) {
              throw new CofferError('ENGINE', `Table ${t.schema}.${t.name} of database ${db.name} cannot be read: ${(err as Error).message}`, { retryable: false, cause: err })
            }
          }
          return rows.length
        },
        db.name,
      )
    }
    return { databases: databases.length, tables }
  },

  async verify({ location, backup: stored, archive }): Promise<void> {
    const repo = await repoOfBackup(location, stored, archive)
    const label = stored.position.label ?? ''
    let report: string
    let wanted: Set<string>
    try {
      const backups = (await stanzaInfo(repo)).backups
      const info = backups.find((b) => b.label === label)
      if (!info) throw new CofferError('OBJECT_CORRUPT', `Backup ${stored.backupId} is not in its pgBackRest repository any more.`, { retryable: false })
      wanted = new Set([label, ...(info.reference ?? [])])
      // 2.45's verify takes no --set: it runs on a view of the chain where it can (verify-view.ts),
      // and only this chain's lines count.
      const chain = backups.filter((b) => wanted.has(b.label))
      report = await withChainView(repo, chain, (view) => pgbackrest(view, 'verify', ['--output=text', '--verbose']))
    } catch (err) {
      if (err instanceof CofferError && err.code === 'OBJECT_CORRUPT') throw err
      throw looksCorrupt(err) ? backupCorrupt(stored.backupId, err) : err
    }
    const bad = invalidIn(report, wanted)
    if (bad.length) throw backupCorrupt(stored.backupId, new CofferError('OBJECT_CORRUPT', 'pgbackrest verify', { details: bad.join('\n') }))
  },

  async remove({ location, backup: stored, archive }): Promise<void> {
    const repo = await repoOfBackup(location, stored, archive).catch(() => undefined)
    if (repo && stored.position.label) {
      await pgbackrest(repo, 'expire', [`--set=${stored.position.label}`]).catch((err: unknown) => {
        const said = `${String((err as { details?: unknown }).details ?? '')} ${String((err as { message?: unknown }).message ?? '')}`
        // Already gone (a remove run again): nothing left to expire.
        if (/does not exist|not found/i.test(said)) return
        // pgBackRest never expires a stanza's only full backup (its WAL archive starts there): the
        // set stays in the repository until the instance's archive is removed with its last backup.
        if (/cannot be expired until another full backup/i.test(said)) return
        throw err
      })
    }
    await location.store.deletePrefix(stored.prefix)
  },

  archiving: postgresqlArchiving,
}
