/**
 * What a replica reads from its replication source over TCP, logged in as the replication user
 * (which may run INFO and ACL LIST besides replicating): the source's client users, which Redis does
 * not replicate, and its replication history (ids and offsets), which a rejoin checks and a
 * replica's lag needs. The password never enters an error message.
 */
import { CofferError } from '../../../core/errors.js'
import type { ReplicationSource } from '../replication.js'
import { isUnreachable, isWrongPassword, openClientAt, redacted, type RedisClient } from './client.js'
import { clientUserLines } from './replication-state.js'
import { infoFields } from './snapshot.js'

/** A source's replication history as its INFO replication tells it. */
export interface SourceHistory {
  readonly replid: string
  /** The id it followed before it was promoted, and the first offset that is its own (-1: none). */
  readonly replid2: string
  readonly secondOffset: number
  /** master_repl_offset: the last byte of its change stream. */
  readonly offset: number
}

export interface SourceView extends SourceHistory {
  /** Its client users' ACL lines (root included), Coffer's own left out. */
  readonly users: string[]
}

/** A replication history from INFO replication fields (a source's, or this instance's own). */
export function historyOf(fields: ReadonlyMap<string, string>): SourceHistory {
  return {
    replid: fields.get('master_replid') ?? '',
    replid2: fields.get('master_replid2') ?? '',
    secondOffset: Number(fields.get('second_repl_offset') ?? -1),
    offset: Number(fields.get('master_repl_offset') ?? 0),
  }
}

async function withSource<T>(source: ReplicationSource, timeoutMs: number, fn: (client: RedisClient) => Promise<T>): Promise<T> {
  let client: RedisClient | undefined
  try {
    client = await openClientAt({ host: source.host, port: source.port }, source.user, source.password, timeoutMs)
    return await fn(client)
  } catch (err) {
    const clean = redacted(err, [source.password])
    const where = `replication source ${source.instanceId} (${source.host}:${source.port})`
    if (isWrongPassword(err)) throw new CofferError('ENGINE_AUTH_FAILED', `The ${where} refused the replication user's login: run prepareSource there and pass its account.`, { retryable: false })
    if (isUnreachable(err) || /timed? ?out/i.test(clean.message)) throw new CofferError('ENGINE_UNREACHABLE', `The ${where} does not answer: ${clean.message}`, { retryable: true })
    throw clean
  } finally {
    client?.disconnect()
  }
}

/** The source's users and history, read in one connection. */
export const sourceView = (source: ReplicationSource, timeoutMs = 10_000): Promise<SourceView> =>
  withSource(source, timeoutMs, async (c) => {
    const users = clientUserLines((await c.call('ACL', 'LIST')) as string[])
    return { users, ...historyOf(infoFields(await c.info('replication'))) }
  })

/** The source's history only (a replica's lag), or undefined when it cannot be read at once. */
export const sourceHistory = (source: ReplicationSource, timeoutMs: number): Promise<SourceHistory | undefined> =>
  withSource(source, timeoutMs, async (c) => historyOf(infoFields(await c.info('replication')))).catch(() => undefined)
