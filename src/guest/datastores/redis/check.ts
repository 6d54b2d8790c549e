/**
 * A restore drill's look at Redis: every key of every numbered database is listed (SCAN) and its
 * TYPE read through the service login, so a key space Redis cannot walk fails the drill.
 */
import { CofferError, errorMessage } from '../../../core/errors.js'
import type { InstanceContext } from '../datastore.js'
import { withService, type RedisClient } from './client.js'
import { infoFields } from './snapshot.js'

/** Keys per SCAN step, and TYPE commands sent together. */
const BATCH = 1000

/** Reads every key's type in the selected database; resolves how many keys there were. */
async function walk(client: RedisClient): Promise<number> {
  let keys = 0
  let cursor = '0'
  do {
    // As bytes: a key need not be valid UTF-8.
    const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', String(BATCH))) as [Buffer, Buffer[]]
    cursor = next.toString()
    if (batch.length === 0) continue
    const types = client.pipeline()
    for (const key of batch) types.type(key)
    for (const [err, type] of (await types.exec()) ?? []) {
      if (err) throw err
      if (type === 'none') continue // expired or deleted since the SCAN
      keys++
    }
  } while (cursor !== '0')
  return keys
}

export async function redisCheck(ctx: InstanceContext): Promise<{ readonly databases: number; readonly tables: number }> {
  return withService(ctx, async (client) => {
    // "db0:keys=3,expires=1,avg_ttl=..." for every database that holds keys.
    const numbers = [...infoFields(await client.info('keyspace')).keys()].map((name) => /^db(\d+)$/.exec(name)?.[1]).filter((n): n is string => n !== undefined)
    let tables = 0
    for (const db of numbers) {
      ctx.signal?.throwIfAborted()
      try {
        await client.call('SELECT', db)
        tables += await walk(client)
      } catch (err) {
        throw new CofferError('ENGINE', `Database ${db} of instance ${ctx.instanceId} could not be read: ${errorMessage(err)}`, { retryable: false })
      }
    }
    return { databases: numbers.length, tables }
  })
}
