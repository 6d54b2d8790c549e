/**
 * Continuous WAL archiving for point-in-time restore, through the spool (wal-spool.ts): the engine
 * copies each finished WAL file into the spool on its volume; `ship` (the node calls it every few
 * seconds, as root) pushes spooled files with `pgbackrest archive-push` and removes them.
 *
 * How far the archive reaches ("latest"): when the instance has had changes for `maxAgeSeconds`,
 * ship commits a marker transaction (its commit record carries a time, which recovery needs to
 * stop at a time: it stops only at commit records) and switches WAL; once the switched file is in
 * the repository, every change committed before the marker's time is archived, and a restore to
 * that time succeeds. That time is kept sealed with the archive key at `archives/<id>/latest`,
 * where `window` reads it after the instance is gone. A change is a new transaction id, so an idle
 * instance (checkpoints, vacuum) never switches WAL.
 */
import { constants } from 'node:fs'
import { chown, lstat, mkdir, open, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError } from '../../../core/errors.js'
import type { ArchiveAdmin, ArchiveTarget, BackupLocation, RestorableWindow, StoredBackup } from '../backup.js'
import { openSealed, putSealed } from '../common/sealed-objects.js'
import { writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { serialised } from '../common/serialise.js'
import type { InstanceContext } from '../datastore.js'
import { dataDir, postgresqlEngine } from './manager.js'
import { pgbackrest, removeRepoPath, type PgSide, type Repo } from './pgbackrest.js'
import { connectService } from './service-account.js'
import { spoolDir } from './wal-spool.js'

/** WAL segments, partial segments, backup history and timeline history files. */
const WAL_NAME = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/
/** A spooled file larger than this is not WAL (the default segment is 16 MiB). */
const MAX_WAL_BYTES = 1024 * 1024 * 1024

export const repoOf = (location: BackupLocation, archive: ArchiveTarget): Repo => ({
  settings: location.settings,
  store: location.store,
  stanza: archive.instanceId,
  key: archive.key,
})

export const pgSideOf = (ctx: InstanceContext, password?: string): PgSide => ({
  dataDir: dataDir(ctx),
  socketDir: ctx.runDir,
  port: ctx.port,
  ...(password ? { password } : {}),
})

/** The service password that logs in now (the saved one, or a pending one after a cut-short change). */
export async function servicePassword(ctx: InstanceContext): Promise<string> {
  const { client, password } = await connectService(ctx)
  await client.end().catch(() => undefined)
  return password
}

interface ShipState {
  /** The next transaction id at the last switch (or first look). */
  xid?: string
  /** When ship first saw a transaction id newer than `xid`. */
  changedSince?: number
  /** The switched WAL file and the marker's time, until that file is pushed. */
  pending?: { readonly file: string; readonly at: Date }
  latest?: Date
}
const states = new Map<string, ShipState>()
const stanzasMade = new Set<string>()

const latestKey = (archive: ArchiveTarget): string => `${archive.prefix}latest`
const latestFile = (ctx: InstanceContext): string => join(ctx.guestDir, 'pgbackrest-archive.json')
const shipKey = (ctx: InstanceContext): string => `${ctx.volumeDir}#pgbackrest`

/** The spool folder, made by root for the engine's account; a link planted in its place is removed. */
async function ensureSpool(ctx: InstanceContext): Promise<void> {
  const dir = spoolDir(ctx)
  const st = await lstat(dir).catch(() => undefined)
  if (st && !st.isDirectory()) await rm(dir, { force: true })
  if (!st || !st.isDirectory()) await mkdir(dir, { mode: 0o700 })
  if (runningAsRoot()) await chown(dir, ctx.account.uid, ctx.account.gid)
}

/**
 * Pushes every spooled WAL file, oldest first, and removes it from the spool. Each file is first
 * copied (opened without following links, a regular file only) into guestDir, so the tenant's
 * account cannot swap in a link to a file only root may read. Returns the names pushed.
 */
export async function pushSpool(ctx: InstanceContext, repo: Repo, signal?: AbortSignal): Promise<string[]> {
  const names = (await readdir(spoolDir(ctx)).catch(() => [] as string[])).filter((n) => WAL_NAME.test(n)).sort()
  if (names.length === 0) return []
  const outDir = join(ctx.guestDir, 'pgbackrest-out')
  await mkdir(outDir, { recursive: true, mode: 0o700 })
  const pushed: string[] = []
  for (const name of names) {
    signal?.throwIfAborted()
    const source = join(spoolDir(ctx), name)
    const out = join(outDir, name)
    const fh = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined)
    if (!fh) continue
    try {
      const st = await fh.stat()
      if (!st.isFile() || st.size > MAX_WAL_BYTES) {
        throw new CofferError('BACKUP_TOOL_FAILED', `The WAL spool of instance ${ctx.instanceId} holds something that is not a WAL file; it was left in place.`, { retryable: false, details: source })
      }
      await pipeline(fh.createReadStream({ autoClose: false }), createWriteStream(out, { mode: 0o600 }))
    } finally {
      await fh.close()
    }
    await pgbackrest(repo, 'archive-push', [out], { pg: pgSideOf(ctx), signal })
    await rm(source, { force: true })
    await rm(out, { force: true })
    pushed.push(name)
  }
  return pushed
}

/** Commits a marker transaction and switches WAL; returns the switched file and the marker's time. */
async function switchWal(ctx: InstanceContext, state: ShipState): Promise<void> {
  const { client } = await connectService(ctx)
  try {
    const marker = await client.query<{ at: Date }>('SELECT now() AS at, pg_current_xact_id()')
    const switched = await client.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file')
    const next = await client.query<{ xid: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid')
    state.pending = { file: switched.rows[0]!.file, at: marker.rows[0]!.at }
    state.xid = next.rows[0]!.xid
    state.changedSince = undefined
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Switches WAL when a change is older than `maxAgeSeconds`. */
async function maybeSwitch(ctx: InstanceContext, state: ShipState, maxAgeSeconds: number): Promise<void> {
  const { client } = await connectService(ctx)
  let xid: string
  try {
    xid = (await client.query<{ xid: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid')).rows[0]!.xid
  } finally {
    await client.end().catch(() => undefined)
  }
  // Unknown after Coffer restarted: counted as a change, so the archive catches up once.
  if (state.xid !== xid && state.changedSince === undefined) state.changedSince = Date.now()
  if (state.changedSince !== undefined && Date.now() - state.changedSince >= maxAgeSeconds * 1000) await switchWal(ctx, state)
}

async function readLatest(ctx: InstanceContext): Promise<Date | undefined> {
  const text = await readFile(latestFile(ctx), 'utf8').catch(() => undefined)
  return text ? new Date((JSON.parse(text) as { latest: string }).latest) : undefined
}

async function recordLatest(ctx: InstanceContext, archive: ArchiveTarget, at: Date): Promise<void> {
  const body = JSON.stringify({ latest: at.toISOString() })
  await putSealed(archive.location.store, latestKey(archive), Readable.from([Buffer.from(body)]), archive.key)
  await writeFileAtomic(latestFile(ctx), body, { mode: 0o600 })
}

/**
 * Ships the spool; when a switch was made, waits (a few seconds at most) for the engine's archiver
 * to spool the switched file, so one call archives it.
 */
async function shipUnlocked(ctx: InstanceContext, archive: ArchiveTarget, maxAgeSeconds: number): Promise<Date | undefined> {
  const state = states.get(ctx.instanceId) ?? {}
  states.set(ctx.instanceId, state)
  state.latest ??= await readLatest(ctx)
  const repo = repoOf(archive.location, archive)
  await maybeSwitch(ctx, state, maxAgeSeconds)
  const deadline = Date.now() + 5_000
  for (;;) {
    const pushed = await pushSpool(ctx, repo, ctx.signal)
    const pending = state.pending
    if (!pending) break
    if (pushed.some((n) => n.slice(0, 24) >= pending.file)) {
      await recordLatest(ctx, archive, pending.at)
      state.latest = pending.at
      state.pending = undefined
      break
    }
    if (Date.now() > deadline) break
    await sleep(50)
  }
  return state.latest
}

/** Makes the stanza (once per Coffer process and instance; stanza-create is idempotent anyway). */
async function ensureStanza(ctx: InstanceContext, repo: Repo): Promise<void> {
  const id = `${ctx.instanceId}:${repo.stanza}`
  if (stanzasMade.has(id)) return
  await pgbackrest(repo, 'stanza-create', [], { pg: pgSideOf(ctx, await servicePassword(ctx)), signal: ctx.signal })
  stanzasMade.add(id)
}

export const postgresqlArchiving: ArchiveAdmin = {
  async enable(ctx: InstanceContext, archive: ArchiveTarget): Promise<void> {
    await ensureSpool(ctx)
    const { client } = await connectService(ctx)
    let mode: string
    try {
      mode = (await client.query<{ archive_mode: string }>('SHOW archive_mode')).rows[0]!.archive_mode
    } finally {
      await client.end().catch(() => undefined)
    }
    // Only an engine started before Coffer rendered archive_mode needs this one restart.
    if (mode !== 'on') {
      await postgresqlEngine.stop(ctx)
      await postgresqlEngine.start(ctx)
    }
    await ensureStanza(ctx, repoOf(archive.location, archive))
  },

  ship: (ctx, archive, options) => serialised(shipKey(ctx), () => shipUnlocked(ctx, archive, options.maxAgeSeconds)),

  async window(archive: ArchiveTarget, backups: readonly StoredBackup[]): Promise<RestorableWindow> {
    const times = backups.map((b) => b.takenAt.getTime())
    const earliest = times.length ? new Date(Math.min(...times)) : undefined
    let shipped: Date | undefined
    if (await archive.location.store.head(latestKey(archive))) {
      const stream = await openSealed(archive.location.store, latestKey(archive), archive.key, `archive of instance ${archive.instanceId}`)
      const chunks: Buffer[] = []
      for await (const c of stream) chunks.push(c as Buffer)
      shipped = new Date((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { latest: string }).latest)
    }
    // Each backup's own point is restorable too, even before anything was shipped after it.
    const candidates = [...(shipped ? [shipped.getTime()] : []), ...times]
    const latest = candidates.length ? new Date(Math.max(...candidates)) : undefined
    return { ...(earliest ? { earliest } : {}), ...(latest ? { latest } : {}) }
  },

  async remove(archive: ArchiveTarget): Promise<void> {
    await removeRepoPath(repoOf(archive.location, archive), '')
    await archive.location.store.deletePrefix(archive.prefix)
  },
}

/** Pushes the spool every `everyMs` until `until` settles (a backup waits for its last WAL file). */
export async function shipWhile<T>(ctx: InstanceContext, repo: Repo, until: Promise<T>, everyMs = 250): Promise<T> {
  let done = false
  const settled = until.finally(() => {
    done = true
  })
  const loop = (async () => {
    while (!done) {
      await serialised(shipKey(ctx), () => pushSpool(ctx, repo)).catch(() => undefined)
      await Promise.race([sleep(everyMs), settled.catch(() => undefined)])
    }
  })()
  try {
    return await settled
  } finally {
    await loop
    // What the backup's stop switched in is shipped before the caller goes on.
    await serialised(shipKey(ctx), () => pushSpool(ctx, repo)).catch(() => undefined)
  }
}
