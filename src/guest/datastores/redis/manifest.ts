/** What this node offers of Redis: the redis-server found on the node and the rules for ACL user names. */
import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { DatastoreVersionInfo, NameRules } from '../../../core/manifest.js'
import type { DiscoveredManifest } from '../define-datastore.js'

const run = promisify(execFile)

/** Where Debian installs the server. One Redis per node: Debian packages a single version. */
export const REDIS_SERVER = '/usr/bin/redis-server'

/** The ACL user Coffer itself logs in as (over the private socket only, by convention). */
export const SERVICE_USER = 'coffer_admin'

/** The ACL user replicas log in to a replication source as (replication.ts): replication and nothing else. */
export const REPL_USER = 'coffer_repl'

/** The superuser a client may enable (Trove's root). */
export const ROOT_USER = 'root'

/**
 * ACL user names may hold any byte but spaces and NUL; these rules keep them typeable and safe in
 * shells and URLs. Reserved: Redis's own `default` user (kept off), the service user, the
 * replication user and root.
 * Redis has numbered databases, but they are not Trove databases (no names, no grants), so the
 * manifest offers none and reserves none.
 */
export const redisNames: NameRules = {
  maxLength: 64,
  pattern: '[A-Za-z_][A-Za-z0-9_.-]*',
  patternText: 'use letters, digits, underscores, dots and hyphens, and start with a letter or underscore',
  reservedDatabases: [],
  reservedUsers: ['default', SERVICE_USER, REPL_USER, ROOT_USER],
  // Redis stores only a SHA-256 of each password, so length costs nothing there; a bound keeps request bodies small.
  passwordMaxLength: 256,
}

/** Finds redis-server on the node. Never throws: not found means no version offered. */
export async function discoverRedis(): Promise<DiscoveredManifest> {
  const version = await installedVersion()
  return {
    name: 'redis',
    defaultPort: 6379,
    versions: version ? [version] : [],
    names: redisNames,
    // No accessFamilies: Redis has no per-client-address rule (`bind` only picks listening
    // addresses), and this node has no packet filter to hold clients to a list.
    minRamMb: 64,
  }
}

/** "Redis server v=7.0.15 sha=..." → { name: "7.0", versionNumber: "7.0.15" }; undefined when absent. */
export function parseRedisVersion(text: string): DatastoreVersionInfo | undefined {
  const number = /\bv=(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)
  if (!number) return undefined
  const [, major, minor, patch] = number
  return { name: `${major}.${minor}`, versionNumber: [major, minor, patch].filter((p) => p !== undefined).join('.') }
}

async function installedVersion(): Promise<DatastoreVersionInfo | undefined> {
  try {
    await access(REDIS_SERVER, constants.X_OK)
    const { stdout } = await run(REDIS_SERVER, ['--version'], { timeout: 10_000 })
    return parseRedisVersion(stdout)
  } catch {
    return undefined
  }
}
