/**
 * The character sets and collations of a MySQL-family server, read once per version from
 * information_schema of a throwaway server (a copy of the node's template, socket only) and
 * cached in cacheDir beside the parameter catalog.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import * as mysql from 'mysql2/promise'
import type { CharacterSetCatalog } from '../../../core/character-sets.js'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { cachedRead } from '../common/cached-read.js'
import { throwawayFailed } from '../common/engine-errors.js'
import { tailFile } from '../common/log-tail.js'
import { isAlive, spawnDetached } from '../common/process.js'
import { readFromThrowaway } from '../common/throwaway-engine.js'
import type { OsAccount } from '../datastore.js'
import type { MysqlClient } from './client.js'
import { type MysqlFamilyServer, SERVICE_USER } from './manifest.js'
import { ensureTemplate, TEMPLATE_LOG_FILE_SIZE } from './template.js'

type Node = { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }
type Row = { readonly name: string; readonly characterSet: string }

/** The character sets and collations `server` takes for a database. */
export function mysqlFamilyCharacterSets(server: MysqlFamilyServer): (node: Node) => Promise<CharacterSetCatalog> {
  return (node) => cachedRead(join(node.cacheDir, `${server.name}-${node.version.versionNumber}-character-sets.json`), () => readFromEngine(server, node))
}

async function readFromEngine(server: MysqlFamilyServer, node: Node): Promise<CharacterSetCatalog> {
  const template = await ensureTemplate(node.cacheDir, server, node.version, node.account)
  return readFromThrowaway({
    cacheDir: node.cacheDir,
    prefix: `${server.name}-${node.version.name}-character-sets.tmp-`,
    template,
    account: node.account,
    processName: server.processName,
    pidFile: join('run', 'mysqld.pid'),
    stopSteps: [['SIGTERM', 60_000], ['SIGKILL', 10_000]],
    start: ({ dir, dataDir, runDir }) =>
      spawnDetached({
        command: server.serverBinary,
        args: ['--no-defaults', `--datadir=${dataDir}`, `--socket=${join(runDir, 'mysqld.sock')}`, `--pid-file=${join(runDir, 'mysqld.pid')}`,
          `--log-error=${join(runDir, 'error.log')}`, `--tmpdir=${runDir}`, '--skip-networking', '--innodb-buffer-pool-size=16M',
          `--innodb-log-file-size=${TEMPLATE_LOG_FILE_SIZE}`, '--key-buffer-size=1M', '--aria-pagecache-buffer-size=1M'],
        account: node.account,
        logFile: join(dir, 'console.log'),
      }),
    read: async ({ runDir }, pid) => {
      const c = await waitReady(pid, runDir, template.password)
      try {
        const [sets] = await c.query<(mysql.RowDataPacket & { name: string })[]>('SELECT CHARACTER_SET_NAME AS name FROM information_schema.CHARACTER_SETS')
        const [collations] = await c.query<(mysql.RowDataPacket & Row)[]>(
          'SELECT COLLATION_NAME AS name, CHARACTER_SET_NAME AS characterSet FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME IS NOT NULL')
        return catalogOf(sets.map((s) => s.name), collations.map((r) => ({ name: r.name, characterSet: r.characterSet })))
      } finally {
        await c.end().catch(() => c.destroy())
      }
    },
  })
}

/**
 * The catalog from the two tables. `utf8` still names utf8mb3 (and `utf8_*` its collations) in
 * every statement, though the tables show only the new names since MariaDB 10.6.
 */
export function catalogOf(sets: readonly string[], collations: readonly Row[]): CharacterSetCatalog {
  const hasOldUtf8 = sets.includes('utf8mb3') && !sets.includes('utf8')
  return {
    characterSets: sets.map((name) => ({ name, ...(hasOldUtf8 && name === 'utf8mb3' ? { aliases: ['utf8'] } : {}) })),
    collations: [
      ...collations,
      ...(hasOldUtf8 ? collations.filter((c) => c.characterSet === 'utf8mb3').map((c) => ({ name: c.name.replace(/^utf8mb3_/, 'utf8_'), characterSet: 'utf8mb3' })) : []),
    ],
    fold: 'case',
    collationFold: 'case',
  }
}

async function waitReady(pid: number, run: string, password: string): Promise<MysqlClient> {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      const c = await mysql.createConnection({ socketPath: join(run, 'mysqld.sock'), user: SERVICE_USER, password, connectTimeout: 2_000 })
      c.on('error', () => undefined)
      return c
    } catch (err) {
      if ((err as { sqlState?: unknown }).sqlState !== undefined) throw err
    }
    if (!(await isAlive(pid))) throw throwawayFailed('server for the character set catalog', true, await tailFile(join(run, 'error.log')))
    if (Date.now() > deadline) throw throwawayFailed('server for the character set catalog', false, await tailFile(join(run, 'error.log')))
    await sleep(5)
  }
}
