/**
 * The service account `coffer_admin`@`localhost`: Coffer's own superuser, reachable only over the
 * instance's private socket (runDir, mode 0700, owned by the engine's account). It is separate
 * from `root` so that a client's root (enabled at `%`, see root.ts) and Coffer never share an
 * account: disabling root, or a client resetting root's password, cannot lock Coffer out, and
 * Coffer's sessions are told apart from the client's in the process list.
 *
 * Each instance starts as a copy of the node's template, whose password every copy shares, so
 * prepare replaces it with one of the instance's own. The new password is saved as "pending"
 * before ALTER USER and confirmed after it: whenever Coffer stops in between, one of the saved
 * passwords still logs in.
 */
import type { RowDataPacket } from 'mysql2/promise'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import { CofferError } from '../../../core/errors.js'
import { serviceLoginFailed } from '../common/engine-errors.js'
import { account, isAccessDenied, isUnreachable, type MysqlClient, openClient } from './client.js'
import { SERVICE_USER } from './manifest.js'

interface ServiceSecret {
  readonly password?: string
  readonly pending?: string
}

const SECRET = 'mariadb-service'

/** The passwords worth trying, most likely first: the saved one, a pending one, then `fallbacks`. */
export async function servicePasswords(ctx: InstanceContext, fallbacks: readonly string[] = []): Promise<string[]> {
  const saved = (await readSecret<ServiceSecret>(ctx.guestDir, SECRET)) ?? {}
  return [...new Set([saved.password, saved.pending, ...fallbacks].filter((p): p is string => !!p))]
}

/**
 * Logs in as the service account, trying the saved password, then a pending one, then
 * `fallbacks`. Returns the client and the password that worked. Rejects with the last error.
 */
export async function connectService(ctx: InstanceContext, fallbacks: readonly string[] = []): Promise<{ client: MysqlClient; password: string }> {
  let last: unknown = new CofferError('ENGINE_NOT_PREPARED', `Instance ${ctx.instanceId} has no service password yet; prepare it first.`, { retryable: false })
  for (const password of await servicePasswords(ctx, fallbacks)) {
    try {
      return { client: await openClient(ctx, password), password }
    } catch (err) {
      last = err
      if (!isAccessDenied(err)) break
    }
  }
  throw last
}

/** Runs `fn` as the service account, always closing the connection. */
export async function withService<T>(ctx: InstanceContext, fn: (client: MysqlClient) => Promise<T>): Promise<T> {
  const { client } = await connectService(ctx).catch((err: unknown) => {
    throw serviceLoginFailed('MariaDB', ctx.instanceId, err, isAccessDenied(err) ? 'refused' : isUnreachable(err) ? 'unreachable' : 'other')
  })
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => client.destroy())
  }
}

/**
 * Gives the service account a password of this instance's own, saved as pending before the ALTER
 * USER and confirmed after it. `current` is the password `client` logged in with (none when the
 * server runs without grant tables, as a restore's does).
 */
export async function setServicePassword(ctx: InstanceContext, client: MysqlClient, current?: string): Promise<void> {
  const saved = (await readSecret<ServiceSecret>(ctx.guestDir, SECRET)) ?? {}
  const next = saved.pending ?? newPassword()
  if (current !== next) {
    if (!saved.pending) await writeSecret(ctx.guestDir, SECRET, { ...saved, pending: next })
    await client.query(`ALTER USER ${account(SERVICE_USER, 'localhost')} IDENTIFIED BY ?`, [next])
  }
  await writeSecret(ctx.guestDir, SECRET, { password: next })
}

/**
 * Gives the instance its own service password (unless it has one), gives root@localhost a fresh
 * random password nobody keeps (so no two copies share its hash), and removes what the template
 * should already lack: anonymous users, root at any host but localhost and a client's `%`, and
 * the test database. Idempotent and safe to interrupt at any point. `templatePassword` is asked
 * for only while the instance has no password of its own.
 */
export async function secureInstance(ctx: InstanceContext, templatePassword: () => Promise<string>): Promise<void> {
  const saved = (await readSecret<ServiceSecret>(ctx.guestDir, SECRET)) ?? {}
  const secured = !!saved.password && !saved.pending
  const { client, password } = await connectService(ctx, secured ? [] : [await templatePassword()])
  try {
    if (!secured) {
      // The binary log holds ALTER USER with its password in clear, and a client's root can read it.
      await client.query('SET SESSION sql_log_bin = 0')
      await setServicePassword(ctx, client, password)
      await client.query(`ALTER USER IF EXISTS ${account('root', 'localhost')} IDENTIFIED BY ? ACCOUNT LOCK`, [newPassword()])
      await client.query('SET SESSION sql_log_bin = 1')
    }
    const [strays] = await client.query<(RowDataPacket & { user: string; host: string })[]>(
      "SELECT User AS user, Host AS host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '%'))",
    )
    for (const s of strays) await client.query(`DROP USER IF EXISTS ${account(s.user, s.host)}`)
    await client.query('DROP DATABASE IF EXISTS test')
  } finally {
    await client.end().catch(() => client.destroy())
  }
}
