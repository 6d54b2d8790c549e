/**
 * An RDB snapshot of a running Redis: BGSAVE, then wait until that save is done. Redis runs one
 * child at a time, so a BGSAVE or an AOF rewrite already running is waited out and BGSAVE retried.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError, errorMessage } from '../../../core/errors.js'
import type { RedisClient } from './client.js'

export interface Snapshot {
  /** The RDB file Redis wrote (its `dir` and `dbfilename`). */
  readonly path: string
  /** LASTSAVE: when the save finished, in Unix seconds. */
  readonly lastSave: number
}

/** `name:value` lines of an INFO section as a map. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  return fields
}

const persistence = async (client: RedisClient): Promise<Map<string, string>> => infoFields(await client.info('persistence'))

/** True for BGSAVE's refusals while another child (a save or an AOF rewrite) runs. */
const isBusy = (err: unknown): boolean => /already in progress|another child process is active/i.test(errorMessage(err))

export interface SnapshotOptions {
  /**
   * Saves without Redis's own LZF compression (`rdbcompression no` for this save, then the
   * setting as it was): for a snapshot that zstd compresses next, LZF only costs time (a third of
   * a BGSAVE on text LZF cannot shrink: 1.6-1.8 s against 4-5 s for 0.2 GB here).
   */
  readonly withoutLzf?: boolean
}

/** Takes a snapshot; rejects with BACKUP_TOOL_FAILED when the save fails. Honours `signal` while waiting. */
export async function snapshot(client: RedisClient, signal?: AbortSignal, options: SnapshotOptions = {}): Promise<Snapshot> {
  const [, lzf] = options.withoutLzf ? ((await client.call('CONFIG', 'GET', 'rdbcompression')) as [string, string]) : []
  if (lzf !== 'yes') return save(client, signal)
  await client.call('CONFIG', 'SET', 'rdbcompression', 'no')
  try {
    return await save(client, signal)
  } finally {
    // An AOF rewrite meanwhile wrote its base without LZF too: larger, as valid.
    await client.call('CONFIG', 'SET', 'rdbcompression', lzf)
  }
}

async function save(client: RedisClient, signal?: AbortSignal): Promise<Snapshot> {
  let savesBefore: number
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    signal?.throwIfAborted()
    savesBefore = Number((await persistence(client)).get('rdb_saves') ?? 0)
    try {
      await client.call('BGSAVE')
      break
    } catch (err) {
      if (!isBusy(err)) throw saveFailed(errorMessage(err))
    }
    await sleep(wait, undefined, signal ? { signal } : {})
  }
  // Ours is the only save from here until it ends: Redis refuses a second one while it runs.
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    await sleep(wait, undefined, signal ? { signal } : {})
    const info = await persistence(client)
    if (info.get('rdb_bgsave_in_progress') !== '0') continue
    if (Number(info.get('rdb_saves') ?? 0) > savesBefore && info.get('rdb_last_bgsave_status') === 'ok') break
    throw saveFailed(`rdb_last_bgsave_status is ${info.get('rdb_last_bgsave_status') ?? 'unknown'}; the instance's Redis log says why (often no disk space or memory to fork)`)
  }
  const [, dir] = (await client.call('CONFIG', 'GET', 'dir')) as [string, string]
  const [, dbfilename] = (await client.call('CONFIG', 'GET', 'dbfilename')) as [string, string]
  return { path: join(dir, dbfilename), lastSave: Number(await client.call('LASTSAVE')) }
}

const saveFailed = (why: string): CofferError =>
  new CofferError('BACKUP_TOOL_FAILED', `Redis could not write its snapshot (BGSAVE): ${why}`, { retryable: false })
