/**
 * What Coffer keeps about a Redis instance's place in a replica set, as secret files in its
 * guestDir (root only, 0600): on a source, the replication user's password; on a replica, the
 * source it follows and the source's client users; on a fenced source, where it stopped taking
 * writes. redis.conf and the ACL file are rendered from these at every start (manager.ts), so a
 * restart keeps the role. Pure apart from the two files.
 */
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { InstanceContext } from '../datastore.js'
import { confString } from './config.js'
import { REPL_USER, SERVICE_USER } from './manifest.js'

/** The source a replica follows, as ReplicationSource gave it. */
export interface FollowedSource {
  readonly instanceId: string
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
}

/** An instance's role; `{}` is a plain source, writable. */
export interface ReplicationRole {
  /** A replica: the source it follows. */
  readonly follows?: FollowedSource
  /** A replica: its source's client users as the source's ACL LIST gave them (before REPLICA_LIMITS). */
  readonly users?: readonly string[]
  /** A fenced source: its replication id and offset when it stopped taking writes. */
  readonly fenced?: { readonly replid: string; readonly offset: number }
}

const ROLE = 'redis-replication-role'
const ACCOUNT = 'redis-replication'

export const readRole = async (ctx: InstanceContext): Promise<ReplicationRole> => (await readSecret<ReplicationRole>(ctx.guestDir, ROLE)) ?? {}

export const writeRole = (ctx: InstanceContext, role: ReplicationRole): Promise<void> => writeSecret(ctx.guestDir, ROLE, role)

/** The replication user's password on this instance; undefined until prepareSource made one. */
export const replPassword = async (ctx: InstanceContext): Promise<string | undefined> =>
  (await readSecret<{ password?: string }>(ctx.guestDir, ACCOUNT))?.password

/** The replication user's password, made and saved on the first call (before it reaches the ACL file). */
export async function ensureReplPassword(ctx: InstanceContext): Promise<string> {
  const saved = await replPassword(ctx)
  if (saved) return saved
  const password = newPassword()
  await writeSecret(ctx.guestDir, ACCOUNT, { password })
  return password
}

/** Redis refuses every client write while fewer replicas than this are in sync: none ever are. */
export const FENCE_REPLICAS = 2_147_483_647

/** The redis.conf lines a role adds over everything else (renderRedisConf's `replication`). */
export function replicationSettings(role: ReplicationRole): [string, string][] {
  const lines: [string, string][] = []
  if (role.follows) {
    const { host, port, user, password } = role.follows
    lines.push(
      ['replicaof', `${confString(host)} ${Number(port)}`],
      ['masteruser', confString(user)],
      ['masterauth', confString(password)],
      ['replica-read-only', 'yes'],
    )
  }
  // min-replicas-to-write applies only to a master: on a replica it is moot, so no role clears it by mistake.
  if (role.fenced) lines.push(['min-replicas-to-write', String(FENCE_REPLICAS)], ['min-replicas-max-lag', '10'])
  return lines
}

/**
 * Rules added to every client user on a replica. `replica-read-only` refuses writes to every
 * client, but a user with every command (root, or one root made on the source) could otherwise
 * turn the replica into a writable master (REPLICAOF NO ONE, CONFIG SET replica-read-only no) or
 * give itself those commands back (ACL SETUSER). A promote takes them off again.
 */
export const REPLICA_LIMITS: readonly string[] = ['-replicaof', '-slaveof', '-failover', '-config|set', '-acl|setuser']

/** An ACL LIST line's words; a selector `(~k* +get)` stays one word, as ACL SETUSER takes it. */
export function aclWords(line: string): string[] {
  const words: string[] = []
  let word = ''
  let depth = 0
  for (const ch of line.trim()) {
    if (ch === '(') depth++
    if (ch === ')') depth = Math.max(0, depth - 1)
    if (/\s/.test(ch) && depth === 0) {
      if (word) words.push(word)
      word = ''
    } else word += ch
  }
  if (word) words.push(word)
  return words
}

/** The user an ACL line (`user <name> <rules...>`) is about. */
export const aclUserName = (line: string): string => aclWords(line)[1] ?? ''

/** ACL LIST lines of the users clients made (root included): Coffer's own are left out. */
export function clientUserLines(list: readonly string[]): string[] {
  const ours = new Set(['default', SERVICE_USER, REPL_USER])
  return list.filter((line) => line.startsWith('user ') && !ours.has(aclUserName(line)))
}

/** The rules of a user's line (everything after `user <name>`), with REPLICA_LIMITS on a replica. */
export const userRules = (line: string, replica: boolean): string[] => [...aclWords(line).slice(2), ...(replica ? REPLICA_LIMITS : [])]

/** ACL file text of the users as a replica has them. */
export const replicaAclText = (users: readonly string[]): string =>
  users.map((line) => `user ${aclUserName(line)} ${userRules(line, true).join(' ')}\n`).join('')
