/** What this node offers of PostgreSQL: the versions installed under /usr/lib/postgresql and the rules for names. */
import { execFile } from 'node:child_process'
import { access, constants, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { DatastoreVersionInfo, NameRules } from '../../../core/manifest.js'
import type { DiscoveredManifest } from '../define-datastore.js'

const run = promisify(execFile)

/** Where Debian (and PGDG) install each major version's binaries. */
export const POSTGRESQL_ROOT = '/usr/lib/postgresql'

/** The folder of a version's server binaries, e.g. /usr/lib/postgresql/15/bin. */
export const binDir = (version: DatastoreVersionInfo): string => join(POSTGRESQL_ROOT, version.name, 'bin')

/** The service account Coffer itself logs in as; the bootstrap superuser of every instance. */
export const SERVICE_USER = 'coffer_admin'

/** The account replicas stream as (replication.ts); made on a source by prepareSource, replicated to its replicas. */
export const REPLICATION_USER = 'coffer_replication'

/**
 * Names are quoted identifiers, so hyphens and upper case are safe; a letter or underscore first
 * keeps them typeable unquoted in simple cases. `pg_` is reserved by PostgreSQL itself for roles.
 */
export const postgresqlNames: NameRules = {
  maxLength: 63,
  pattern: '(?![Pp][Gg]_)[A-Za-z_][A-Za-z0-9_-]*',
  patternText: 'use letters, digits, underscores and hyphens, start with a letter or underscore, and do not start with "pg_"',
  reservedDatabases: ['postgres', 'template0', 'template1'],
  reservedUsers: ['postgres', SERVICE_USER, REPLICATION_USER, 'root', 'public', 'none', 'current_user', 'session_user', 'current_role'],
  // Longer passwords work, but a bound keeps request bodies and SCRAM hashing cheap.
  passwordMaxLength: 256,
}

/** Scans the node for installed PostgreSQL versions (newest first). Never throws: none found means none offered. */
export async function discoverPostgresql(): Promise<DiscoveredManifest> {
  let majors: string[] = []
  try {
    majors = (await readdir(POSTGRESQL_ROOT)).filter((d) => /^\d+$/.test(d))
  } catch {
    // No PostgreSQL on this node.
  }
  const found = await Promise.all(majors.map(versionOf))
  const versions = found.filter((v): v is DatastoreVersionInfo => v !== undefined).sort((a, b) => Number(b.name) - Number(a.name))
  return {
    name: 'postgresql',
    defaultPort: 5432,
    versions,
    names: postgresqlNames,
    accessFamilies: [4, 6],
    minRamMb: 128,
    memoryParameters: { shared_buffers: 8192, wal_buffers: 8192 },
  }
}

async function versionOf(major: string): Promise<DatastoreVersionInfo | undefined> {
  const postgres = join(POSTGRESQL_ROOT, major, 'bin', 'postgres')
  try {
    await access(postgres, constants.X_OK)
    // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"; --version is allowed as root.
    const { stdout } = await run(postgres, ['--version'], { timeout: 10_000 })
    const number = /\(PostgreSQL\)\s+(\d+(?:\.\d+)*)/.exec(stdout)?.[1]
    if (!number || number.split('.')[0] !== major) return undefined
    return { name: major, versionNumber: number }
  } catch {
    return undefined
  }
}
