/**
 * redis.conf and the ACL file of an instance. redis.conf is rewritten at every start, so the tuning
 * follows the flavor after a resize and a hand edit never survives. The ACL file belongs to Redis
 * (ACL SAVE rewrites it) except for the lines Coffer owns and restores at every start: `default`
 * kept off (no unauthenticated access), the service user with the instance's own password, and on
 * a replication source the replication user (replication.ts) with its own.
 */
import { createHash } from 'node:crypto'
import { CofferError } from '../../../core/errors.js'
import type { ConfigurationValues } from '../../../core/configuration.js'
import type { InstanceContext } from '../datastore.js'
import { REPL_USER, SERVICE_USER } from './manifest.js'
import { redisValue } from './parameters.js'
import type { RedisTuning } from './tuning.js'

/** Where an instance's files live; see `redisPaths`. */
export interface RedisPaths {
  readonly conf: string
  readonly aclFile: string
  readonly dataDir: string
  readonly logFile: string
  readonly socket: string
  readonly pidFile: string
}

/** A redis.conf argument: double-quoted with escapes (sdssplitargs); refuses line breaks and NUL. */
export function confString(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new CofferError('ENGINE_CONFIG_INVALID', 'Configuration values cannot contain line breaks.', { retryable: false })
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/**
 * The instance's redis.conf. `overrides` (a configuration group's values, names from the
 * allow-list in parameters.ts) replace Coffer's line for the same name or are added at the end.
 * `replication` (replication-state.ts: what makes a replica or a fenced source) comes last and
 * wins over both; its values are redis.conf text already.
 */
export function renderRedisConf(
  ctx: InstanceContext,
  tuning: RedisTuning,
  paths: RedisPaths,
  overrides: ConfigurationValues = {},
  replication: readonly (readonly [string, string])[] = [],
): string {
  const settings = new Map(baseSettings(ctx, tuning, paths))
  for (const [k, v] of Object.entries(overrides)) {
    // One line per name: a bug upstream can never turn a name into a second directive.
    if (!/^[a-z][a-z0-9-]*$/.test(k)) throw new CofferError('ENGINE_CONFIG_INVALID', `not a parameter name: ${JSON.stringify(k)}`, { retryable: false })
    settings.set(k, confString(redisValue(v)))
  }
  for (const [k, v] of replication) settings.set(k, v)
  const lines = [...settings].map(([k, v]) => `${k} ${v}`)
  return `# Written by Coffer for instance ${ctx.instanceId}; rewritten at every start.\n${lines.join('\n')}\n`
}

/** Coffer's own redis.conf settings before any override, as name → redis.conf text. */
export function baseSettings(ctx: InstanceContext, tuning: RedisTuning, paths: RedisPaths): [string, string][] {
  return [
    ['bind', confString(ctx.bindAddress)],
    ['port', String(ctx.port)],
    // Moot while `default` is off, but kept as the second lock should the ACL file ever lose that line.
    ['protected-mode', 'yes'],
    // Coffer talks to the engine through this socket, in a folder only the engine's account may enter.
    ['unixsocket', confString(paths.socket)],
    ['unixsocketperm', '700'],
    ['daemonize', 'no'],
    ['supervised', 'no'],
    ['pidfile', confString(paths.pidFile)],
    ['logfile', confString(paths.logFile)],
    ['loglevel', 'notice'],
    ['always-show-logo', 'no'],
    // The config path in the process title tells this instance's server apart from any other.
    ['proc-title-template', confString('{title} {listen-addr} {config-file}')],
    ['dir', confString(paths.dataDir)],
    // Users live in the ACL file (ACL SAVE), never in redis.conf, so CONFIG REWRITE cannot scatter them.
    ['aclfile', confString(paths.aclFile)],
    // A replica's full sync starts at once instead of waiting 5 s for more replicas to share it.
    ['repl-diskless-sync-delay', '0'],
    ...engineSettings(tuning),
  ]
}

/**
 * The part of Coffer's redis.conf that names no file, folder or address: what a configuration
 * group's parameter returns to when the group no longer sets it (configuration.ts).
 */
export function engineSettings(tuning: RedisTuning): [string, string][] {
  return [
    // The AOF is the durability of record; everysec loses at most ~1 s of writes on power loss at a
    // fraction of `always`'s cost. No RDB snapshots on top: they would fork on a timer for nothing.
    ['appendonly', 'yes'],
    ['appendfsync', 'everysec'],
    ['save', '""'],
    ...Object.entries(tuning).map(([k, v]): [string, string] => [k, v]),
    ['timeout', '0'],
    ['tcp-keepalive', '300'],
    // Off for everyone, the service user included: these reach into the server's memory and code.
    ['enable-debug-command', 'no'],
    ['enable-module-command', 'no'],
    ['enable-protected-configs', 'no'],
  ]
}

/** The ACL rule holding a password as Redis stores it: `#` and its SHA-256 in hex. */
export const passwordHashRule = (password: string): string => `#${createHash('sha256').update(password, 'utf8').digest('hex')}`

/**
 * What the replication user may do: what a replica sends its source (PING, AUTH, REPLCONF, PSYNC),
 * INFO (a replica's lag and a rejoin's history check read the source's) and ACL LIST (a replica
 * copies its source's users, which Redis does not replicate). No keys, no channels.
 */
export const REPL_RULES: readonly string[] = ['resetkeys', 'resetchannels', '-@all', '+psync', '+replconf', '+ping', '+info', '+acl|list']

/**
 * The ACL file with Coffer's lines in place: `default` off with no password and no commands, the
 * service user with `servicePassword` (stored hashed) and every command, and the replication user
 * with `replPassword` when the instance has one (a source), else none. All other lines (the users
 * clients made, root) are kept as Redis saved them. `current` is the file's text, or undefined
 * before the first start.
 */
export function renderAclFile(current: string | undefined, servicePassword: string, replPassword?: string): string {
  const ours = new Set(['default', SERVICE_USER, REPL_USER])
  const kept = (current ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !ours.has(line.split(/\s+/)[1] ?? ''))
  return [
    'user default off resetpass resetkeys resetchannels -@all',
    `user ${SERVICE_USER} on ${passwordHashRule(servicePassword)} ~* &* +@all`,
    ...(replPassword !== undefined ? [`user ${REPL_USER} on ${passwordHashRule(replPassword)} ${REPL_RULES.join(' ')}`] : []),
    ...kept,
    '',
  ].join('\n')
}
