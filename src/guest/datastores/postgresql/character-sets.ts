/**
 * What Trove's `character_set` and `collate` mean on PostgreSQL: the database's ENCODING, and its
 * LC_COLLATE/LC_CTYPE locale. Read once per version from a throwaway engine (a copy of the node's
 * template, unix socket only) and cached in cacheDir beside the parameter catalog: the server
 * encodings, and the libc locales in pg_collation (what initdb found on the host) with the
 * encoding each works with.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { CharacterSetCatalog } from '../../../core/character-sets.js'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { cachedRead } from '../common/cached-read.js'
import { throwawayFailed } from '../common/engine-errors.js'
import { tailFile } from '../common/log-tail.js'
import { isAlive, spawnDetached } from '../common/process.js'
import { readFromThrowaway } from '../common/throwaway-engine.js'
import type { OsAccount } from '../datastore.js'
import { binDir, SERVICE_USER } from './manifest.js'
import { ensureTemplate } from './template.js'

type Node = { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }

/** The encoding of the node's template (initdb -E UTF8), so of a database created without one. */
export const TEMPLATE_ENCODING = 'UTF8'

// Server encodings come first in PostgreSQL's list; the client-only ones start at SJIS.
const ENCODINGS_QUERY = "SELECT pg_encoding_to_char(e) AS name FROM generate_series(0, pg_char_to_encoding('SJIS') - 1) AS e"
const LOCALES_QUERY = `SELECT DISTINCT collcollate AS name, CASE WHEN collencoding = -1 THEN NULL ELSE pg_encoding_to_char(collencoding) END AS "characterSet"
  FROM pg_collation WHERE collprovider = 'c' AND collcollate IS NOT NULL AND collcollate = collctype`

export function postgresqlCharacterSets(node: Node): Promise<CharacterSetCatalog> {
  return cachedRead(join(node.cacheDir, `postgresql-${node.version.versionNumber}-character-sets.json`), () => readFromEngine(node))
}

/** The catalog from the two queries; a locale `x.utf8` is also taken as `x.UTF-8`, as the C library takes it. */
export function catalogOf(encodings: readonly string[], locales: readonly { name: string; characterSet: string | null }[]): CharacterSetCatalog {
  const spellings = locales.flatMap((l) => {
    const other = l.name.replace(/\.utf8$/, '.UTF-8')
    return other === l.name ? [l] : [l, { ...l, name: other }]
  })
  return { characterSets: encodings.map((name) => ({ name })), collations: spellings, defaultCharacterSet: TEMPLATE_ENCODING, fold: 'case-and-punctuation' }
}

async function readFromEngine(node: Node): Promise<CharacterSetCatalog> {
  const template = await ensureTemplate(node.cacheDir, node.version, node.account)
  return readFromThrowaway({
    cacheDir: node.cacheDir,
    prefix: `postgresql-${node.version.name}-character-sets.tmp-`,
    template,
    account: node.account,
    processName: 'postgres',
    pidFile: join('data', 'postmaster.pid'),
    stopSteps: [['SIGQUIT', 10_000], ['SIGKILL', 10_000]],
    start: ({ dir, dataDir, runDir }) =>
      spawnDetached({
        command: join(binDir(node.version), 'postgres'),
        args: ['-D', dataDir, '-c', 'listen_addresses=', '-c', 'port=5432', '-c', `unix_socket_directories=${runDir}`, '-c', 'logging_collector=off',
          '-c', 'shared_buffers=16MB', '-c', 'max_connections=10', '-c', 'fsync=off', '-c', 'autovacuum=off'],
        account: node.account,
        logFile: join(dir, 'startup.log'),
        cwd: dataDir,
      }),
    read: async ({ dir, dataDir, runDir }, pid) => {
      await waitReady(dataDir, pid, join(dir, 'startup.log'))
      const c = new pg.Client({ host: runDir, port: 5432, user: SERVICE_USER, password: template.password, database: 'postgres', connectionTimeoutMillis: 10_000 })
      c.on('error', () => undefined)
      try {
        await c.connect()
        const encodings = (await c.query<{ name: string }>(ENCODINGS_QUERY)).rows.map((r) => r.name).filter(Boolean)
        return catalogOf(encodings, (await c.query<{ name: string; characterSet: string | null }>(LOCALES_QUERY)).rows)
      } finally {
        await c.end().catch(() => undefined)
      }
    },
  })
}

async function waitReady(data: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const lines = (await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')
    if (Number(lines[0]) === pid && lines[7]?.trim() === 'ready') return
    if (!(await isAlive(pid))) throw throwawayFailed('PostgreSQL for the character set catalog', true, await tailFile(log))
    if (Date.now() > deadline) throw throwawayFailed('PostgreSQL for the character set catalog', false, await tailFile(log))
    await sleep(5)
  }
}
