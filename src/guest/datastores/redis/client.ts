/**
 * Connections to an instance as the service user over the private unix socket in runDir (or to
 * another instance's address, as a replica reads its source), and the service user's password.
 * Commands always go as separate arguments (ioredis `call`), never as a command line built from
 * strings, so a password or name can never become a second argument. Passwords never enter logs or
 * error messages.
 */
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { CofferError, errorMessage } from '../../../core/errors.js'
import { serviceLoginFailed } from '../common/engine-errors.js'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import { SERVICE_USER } from './manifest.js'

/** A connected, authenticated client; end it with `client.disconnect()`. */
export type RedisClient = Redis

const SECRET = 'redis-service'

/** The engine's unix socket (mode 0700, in a folder only the engine's account may enter). */
export const socketPath = (ctx: InstanceContext): string => join(ctx.runDir, 'redis.sock')

/** Where a server listens: a unix socket, or a TCP address (another instance's, say). */
export type RedisAddress = { readonly path: string } | { readonly host: string; readonly port: number }

/** Opens a connection to the instance's socket and logs in as `user`, as `openClientAt` does. */
export async function openClient(ctx: InstanceContext, user: string, password: string, timeoutMs = 10_000): Promise<RedisClient> {
  return openClientAt({ path: socketPath(ctx) }, user, password, timeoutMs)
}

/**
 * Opens a connection to `address` and logs in as `user`. Rejects with Redis's WRONGPASS when the
 * login fails and with "Connection is closed." when nothing listens, the password blanked out of
 * the error. Never reconnects or queues: a caller sees a failure at once.
 */
export async function openClientAt(address: RedisAddress, user: string, password: string, timeoutMs = 10_000): Promise<RedisClient> {
  const client = new Redis({
    ...address,
    lazyConnect: true,
    // The ready check runs INFO before the login below, and reconnecting would lose the login.
    enableReadyCheck: false,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  })
  // A server that goes away (engine stopped) emits 'error'; without a listener that would end Coffer.
  client.on('error', () => undefined)
  try {
    await client.connect()
    // AUTH sent by hand rather than through ioredis's options: its own login hides WRONGPASS behind "Connection is closed."
    await client.call('AUTH', user, password)
  } catch (err) {
    client.disconnect()
    throw redacted(err, [password])
  }
  return client
}

/** The service user's password; rejects when the instance has none yet (not prepared). */
export async function servicePassword(ctx: InstanceContext): Promise<string> {
  const saved = await readSecret<{ password?: string }>(ctx.guestDir, SECRET)
  if (!saved?.password) throw new CofferError('ENGINE_NOT_PREPARED', `Instance ${ctx.instanceId} has no Redis service password; prepare it first.`, { retryable: false })
  return saved.password
}

/**
 * The service user's password, made and saved (durably, 0600 in guestDir) on the first call. It is
 * saved before it goes into the ACL file, so a crash in between leaves nothing Coffer cannot log into.
 */
export async function ensureServicePassword(ctx: InstanceContext): Promise<string> {
  const saved = await readSecret<{ password?: string }>(ctx.guestDir, SECRET)
  if (saved?.password) return saved.password
  const password = newPassword()
  await writeSecret(ctx.guestDir, SECRET, { password })
  return password
}

/** Runs `fn` as the service user and always closes the connection. */
export async function withService<T>(ctx: InstanceContext, fn: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = await openClient(ctx, SERVICE_USER, await servicePassword(ctx)).catch((err: unknown) => {
    throw serviceLoginFailed('Redis', ctx.instanceId, err, isWrongPassword(err) ? 'refused' : isUnreachable(err) ? 'unreachable' : 'other')
  })
  try {
    return await fn(client)
  } finally {
    client.disconnect()
  }
}

/**
 * Runs the commands in one MULTI/EXEC, so other clients see all of them or none, and rejects with
 * the first command's error. Redis still applies the others in that case: make them idempotent.
 */
export async function transaction(client: RedisClient, commands: readonly (readonly string[])[]): Promise<unknown[]> {
  const multi = client.multi()
  for (const [name, ...args] of commands) if (name) multi.call(name, ...args)
  // Passwords travel as `>password` rules; keep them out of any error that leaves here.
  const secrets = commands.flat().filter((a) => a.startsWith('>')).flatMap((a) => [a, a.slice(1)])
  let results: [Error | null, unknown][]
  try {
    results = (await multi.exec()) ?? []
  } catch (err) {
    throw redacted(err, secrets)
  }
  const failed = results.find(([err]) => err)
  if (failed) throw redacted(failed[0], secrets)
  return results.map(([, value]) => value)
}

/**
 * A plain Error with `err`'s message, the given secrets blanked out. ioredis attaches the failed
 * command with all its arguments (an AUTH's password, say) to its errors; this copy has none.
 */
export function redacted(err: unknown, secrets: readonly string[]): Error {
  let message = errorMessage(err)
  for (const secret of [...secrets].filter(Boolean).sort((a, b) => b.length - a.length)) message = message.split(secret).join('***')
  const clean = new Error(message)
  clean.name = err instanceof Error ? err.name : 'Error'
  return clean
}

/** True when a login failed on the credentials, as opposed to the engine being down. */
export const isWrongPassword = (err: unknown): boolean => /^WRONGPASS/.test((err as Error | null)?.message ?? '')

/** True when nothing answers on the socket: the server is down or not listening yet. */
export const isUnreachable = (err: unknown): boolean => /^Connection is closed|ENOENT|ECONNREFUSED|ECONNRESET/.test((err as Error | null)?.message ?? '')

/** True while the engine loads its data and refuses commands (it answers, so it is making progress). */
export const isLoading = (err: unknown): boolean => /^LOADING/.test((err as Error | null)?.message ?? '')
