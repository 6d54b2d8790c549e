/**
 * The instance's own service-account password. Each instance starts as a copy of the node's
 * template, whose password every copy shares, so prepare replaces it with one of the instance's
 * own. The new password is saved as "pending" before ALTER ROLE and confirmed after it: whenever
 * Coffer stops in between, one of the saved passwords still logs in.
 */
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import { CofferError } from '../../../core/errors.js'
import { serviceLoginFailed } from '../common/engine-errors.js'
import { isUnreachable, isWrongPassword, openClient, type PgClient } from './client.js'
import { SERVICE_USER } from './manifest.js'
import { passwordForServer } from './scram.js'

interface ServiceSecret {
  readonly password?: string
  readonly pending?: string
}

const SECRET = 'postgresql-service'

/**
 * Logs in as the service account to `database`, trying the saved password, then a pending one,
 * then `fallbacks`. Returns the client and the password that worked. Rejects with the last error.
 */
export async function connectService(
  ctx: InstanceContext,
  database = 'postgres',
  fallbacks: readonly string[] = [],
): Promise<{ client: PgClient; password: string }> {
  const saved = (await readSecret<ServiceSecret>(ctx.guestDir, SECRET)) ?? {}
  const candidates = [saved.password, saved.pending, ...fallbacks].filter((p): p is string => !!p)
  let last: unknown = new CofferError('ENGINE_NOT_PREPARED', `Instance ${ctx.instanceId} has no PostgreSQL service password yet; prepare it first.`, { retryable: false })
  for (const password of new Set(candidates)) {
    try {
      return { client: await openClient(ctx, password, database), password }
    } catch (err) {
      last = err
      if (!isWrongPassword(err)) break
    }
  }
  throw last
}

/** Runs `fn` as the service account on `database`, always closing the connection. */
export async function withService<T>(ctx: InstanceContext, fn: (client: PgClient) => Promise<T>, database = 'postgres'): Promise<T> {
  const { client } = await connectService(ctx, database).catch((err: unknown) => {
    throw serviceLoginFailed('PostgreSQL', ctx.instanceId, err, isWrongPassword(err) ? 'refused' : isUnreachable(err) ? 'unreachable' : 'other')
  })
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * Gives the instance its own service password (unless it has one) and closes the databases
 * PostgreSQL opens to everyone by default. Idempotent and safe to interrupt at any point.
 * `templatePassword` is asked for only while the instance has no password of its own.
 */
export async function secureInstance(ctx: InstanceContext, templatePassword: () => Promise<string>): Promise<void> {
  const saved = (await readSecret<ServiceSecret>(ctx.guestDir, SECRET)) ?? {}
  const secured = !!saved.password && !saved.pending
  const { client, password } = await connectService(ctx, 'postgres', secured ? [] : [await templatePassword()])
  try {
    if (!secured) {
      const next = saved.pending ?? newPassword()
      if (password !== next) {
        if (!saved.pending) await writeSecret(ctx.guestDir, SECRET, { ...saved, pending: next })
        await client.query(`ALTER ROLE ${client.escapeIdentifier(SERVICE_USER)} PASSWORD ${client.escapeLiteral(await passwordForServer(next))}`)
      }
      await writeSecret(ctx.guestDir, SECRET, { password: next })
    }
    // By default every role may connect to these; users reach only databases granted to them.
    for (const db of ['postgres', 'template1']) {
      await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${client.escapeIdentifier(db)} FROM PUBLIC`)
    }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * Gives a restored instance its own service password through `client`, a login the restore made
 * without the source instance's password. Saved as pending first, as secureInstance does.
 */
export async function replaceServicePassword(ctx: InstanceContext, client: PgClient): Promise<void> {
  const next = newPassword()
  await writeSecret(ctx.guestDir, SECRET, { pending: next })
  await client.query(`ALTER ROLE ${client.escapeIdentifier(SERVICE_USER)} PASSWORD ${client.escapeLiteral(await passwordForServer(next))}`)
  await writeSecret(ctx.guestDir, SECRET, { password: next })
}
