/**
 * MariaDB's archive for point-in-time restore: the instance's closed binary logs, each sealed
 * (zstd + GCM under the archive key) to `archives/<instanceId>/binlog/<binlog name>` with a small
 * sealed `<binlog name>.meta` beside it ({name, first, last}: event times in seconds), written
 * after the log itself, so a log without its meta is an unfinished ship and is shipped again.
 * Logs are read from the volume by Coffer, never through the engine; what has been shipped is
 * recorded in guestDir. The engine rotates its log (FLUSH BINARY LOGS) when the open one has
 * events and is older than the caller's maxAgeSeconds, so the archive is never further behind.
 */
import { constants, createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import type { RowDataPacket } from 'mysql2/promise'
import { CofferError } from '../../../core/errors.js'
import { listAll, type ObjectStore } from '../../../storage/object-store.js'
import type { ArchiveAdmin, ArchiveTarget, RestorableWindow, StoredBackup } from '../backup.js'
import { openSealed, putSealed } from '../common/sealed-objects.js'
import { readSecret, writeSecret } from '../common/secrets.js'
import { serialised } from '../common/serialise.js'
import type { InstanceContext } from '../datastore.js'
import { BinlogTimes, binlogNumber, openLogState } from './binlog.js'
import { instancePaths } from './manager.js'
import { withService } from './service-account.js'

/** One shipped log in the store. */
export interface ShippedLog {
  readonly name: string
  /** The log's object; its meta is `<key>.meta`. */
  readonly key: string
}

/** A shipped log's event times, seconds since 1970. */
export interface LogTimes {
  readonly first: number
  readonly last: number
}

interface ArchiveState {
  readonly prefix: string
  readonly instanceId: string
  /** The last log shipped, and the time of its last event. */
  readonly shipped?: string
  readonly lastEvent?: number
}

const STATE = 'mariadb-archive'
const logsPrefix = (archive: Pick<ArchiveTarget, 'prefix'>): string => `${archive.prefix}binlog/`

async function readStream(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of stream) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

/** The shipped logs of an archive, oldest first, from the store's listing (works after the instance is gone). */
export async function shippedLogs(store: ObjectStore, archive: ArchiveTarget): Promise<ShippedLog[]> {
  const logs: ShippedLog[] = []
  for await (const o of listAll(store, logsPrefix(archive))) {
    if (o.key.endsWith('.meta')) logs.push({ key: o.key.slice(0, -'.meta'.length), name: o.key.slice(logsPrefix(archive).length, -'.meta'.length) })
  }
  return logs.sort((a, b) => binlogNumber(a.name) - binlogNumber(b.name))
}

/** A shipped log's event times, from its sealed meta. */
export async function logTimes(store: ObjectStore, archive: ArchiveTarget, log: ShippedLog): Promise<LogTimes> {
  const meta = JSON.parse((await readStream(await openSealed(store, `${log.key}.meta`, archive.key, `archive of ${archive.instanceId}`))).toString('utf8')) as LogTimes
  return { first: meta.first, last: meta.last }
}

/** Seals one closed log and then its meta; resolves with the time of its last event. */
async function shipLog(ctx: InstanceContext, archive: ArchiveTarget, name: string): Promise<number | undefined> {
  const path = join(dirname(instancePaths(ctx).binlogBase), name)
  // The folder is the tenant's: never follow a link put there in place of a log.
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  const times = new BinlogTimes()
  const key = `${logsPrefix(archive)}${name}`
  const source = createReadStream('', { fd: fh, autoClose: true }).pipe(times)
  await putSealed(archive.location.store, key, source, archive.key, { signal: ctx.signal })
  const meta = { name, first: times.first ?? 0, last: times.last ?? 0 }
  await putSealed(archive.location.store, `${key}.meta`, Readable.from([Buffer.from(JSON.stringify(meta))]), archive.key, { signal: ctx.signal })
  return times.last
}

export const mariadbArchiving: ArchiveAdmin = {
  async enable(ctx, archive) {
    const saved = await readSecret<ArchiveState>(ctx.guestDir, STATE)
    if (saved?.prefix === archive.prefix) return
    await writeSecret(ctx.guestDir, STATE, { prefix: archive.prefix, instanceId: archive.instanceId })
  },

  ship: (ctx, archive, options) =>
    serialised(`${ctx.guestDir}:archive`, async () => {
      const state = await readSecret<ArchiveState>(ctx.guestDir, STATE)
      if (state?.prefix !== archive.prefix) {
        throw new CofferError('INSTANCE_NOT_READY', `Archiving is not enabled on instance ${ctx.instanceId} for ${archive.prefix}; enable it first.`, { retryable: false })
      }
      const closed = await withService(ctx, async (c) => {
        const [[on]] = await c.query<(RowDataPacket & { on: number })[]>('SELECT @@GLOBAL.log_bin AS `on`')
        // An instance started before binary logs were on gets them at its next start.
        if (!Number(on?.on)) return []
        const [[status]] = await c.query<(RowDataPacket & { File: string; Position: number })[]>('SHOW MASTER STATUS')
        if (status) {
          const open = await openLogState(join(dirname(instancePaths(ctx).binlogBase), status.File), Number(status.Position))
          if (open.hasEvents && Date.now() / 1000 - open.createdAt >= options.maxAgeSeconds) await c.query('FLUSH BINARY LOGS')
        }
        const [logs] = await c.query<(RowDataPacket & { Log_name: string })[]>('SHOW BINARY LOGS')
        return logs.slice(0, -1).map((l) => l.Log_name)
      })
      let { shipped, lastEvent } = state
      for (const name of closed) {
        if (shipped !== undefined && binlogNumber(name) <= binlogNumber(shipped)) continue
        ctx.signal?.throwIfAborted()
        lastEvent = (await shipLog(ctx, archive, name)) ?? lastEvent
        shipped = name
        await writeSecret(ctx.guestDir, STATE, { ...state, shipped, ...(lastEvent !== undefined ? { lastEvent } : {}) })
      }
      return lastEvent !== undefined ? new Date(lastEvent * 1000) : undefined
    }),

  async window(archive: ArchiveTarget, backups: readonly StoredBackup[]): Promise<RestorableWindow> {
    const newest = (await shippedLogs(archive.location.store, archive)).at(-1)
    const earliest = backups.reduce<Date | undefined>((min, b) => (min === undefined || b.takenAt < min ? b.takenAt : min), undefined)
    const last = newest ? (await logTimes(archive.location.store, archive, newest)).last : undefined
    return { ...(earliest ? { earliest } : {}), ...(last ? { latest: new Date(last * 1000) } : {}) }
  },

  async remove(archive) {
    await archive.location.store.deletePrefix(archive.prefix)
  },
}
