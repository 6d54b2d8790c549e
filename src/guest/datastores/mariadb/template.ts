/**
 * The MySQL family's node template (common/template-cache.ts): a pre-initialised, already hardened
 * data folder per node, server and version, copied into each new instance: copy + start takes
 * ~0.3 s where mariadb-install-db + start takes ~1 s (shared/ENGINE-NOTES.md). Layout:
 * `<cacheDir>/<server>-<version>/`. The template is hardened before any server listens on a
 * network (no anonymous users, root only at localhost and locked, no test database), so an
 * instance is never reachable with a blank password, not even for a moment. Its service password
 * is replaced in every instance when it is prepared.
 */
import { chown, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as mysql from 'mysql2/promise'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { toolFailed } from '../common/engine-errors.js'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { runAs } from '../common/process.js'
import { newPassword } from '../common/secrets.js'
import { cachedTemplate, type EngineTemplate } from '../common/template-cache.js'
import type { OsAccount } from '../datastore.js'
import { MARIADB_INSTALL_DB, type MysqlFamilyServer, SERVICE_USER } from './manifest.js'

/** Redo log size the template is built with; instances whose tuning wants more resize it at first start. */
export const TEMPLATE_LOG_FILE_SIZE = '16M'

/**
 * Returns the node's template for `server` and `version`, building it first when missing (as
 * `account`). Concurrent calls in this process share one build; a failed build is retried on the
 * next call.
 */
export function ensureTemplate(
  cacheDir: string,
  server: MysqlFamilyServer,
  version: DatastoreVersionInfo,
  account: OsAccount,
): Promise<EngineTemplate> {
  return cachedTemplate(cacheDir, {
    name: `${server.name}-${version.name}`,
    engine: server.name,
    versionNumber: version.versionNumber,
    build: (tmp) => build(tmp, server, account),
  })
}

/** The statements that turn a fresh data folder into the template, common to the family. */
export function templateStatements(servicePassword: string): string[] {
  return [
    mysql.format('CREATE USER ?@? IDENTIFIED BY ?', [SERVICE_USER, 'localhost', servicePassword]),
    mysql.format('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [SERVICE_USER, 'localhost']),
    // root stays, only at localhost (the private socket), with a password nobody keeps, and locked.
    mysql.format('ALTER USER ?@? IDENTIFIED BY ? ACCOUNT LOCK', ['root', 'localhost', newPassword()]),
    'DROP DATABASE IF EXISTS test',
  ]
}

/**
 * MariaDB's initialiser: mariadb-install-db with a blank-password root (replaced at once by the
 * statements, which run in the same bootstrap before any server listens), no test database, and
 * the template's small redo log. In bootstrap mode the grant tables are not loaded, hence FLUSH
 * PRIVILEGES first; the extra root and anonymous accounts are removed name-agnostically, as
 * mariadb-secure-installation does, since their host names depend on the node's host name.
 */
export async function installMariadb(dataDir: string, statements: readonly string[], account: OsAccount): Promise<void> {
  const sqlFile = join(dirname(dataDir), 'init.sql')
  const sql = [
    'FLUSH PRIVILEGES',
    "DELETE FROM mysql.global_priv WHERE NOT (Host = 'localhost' AND User IN ('root', 'mariadb.sys'))",
    "DELETE FROM mysql.proxies_priv WHERE NOT (Host = 'localhost' AND User = 'root')",
    "DELETE FROM mysql.db WHERE User = '' OR Db LIKE 'test%'",
    'FLUSH PRIVILEGES',
    ...statements,
  ]
  // The bootstrap reads one statement per line, ended by ';'.
  await writeFileAtomic(sqlFile, sql.map((s) => `${s.replace(/\s*\n\s*/g, ' ')};\n`).join(''), { mode: 0o600, account })
  try {
    await runAs(MARIADB_INSTALL_DB, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      `--extra-file=${sqlFile}`,
      `--innodb-log-file-size=${TEMPLATE_LOG_FILE_SIZE}`,
    ], account).catch((err: unknown) => {
      throw toolFailed(MARIADB_INSTALL_DB, err)
    })
  } finally {
    await removeTree(sqlFile)
  }
}

/** Initialises and hardens `<tmp>/data`; the engine's account may only pass through `tmp` to data/ and the SQL file. */
async function build(tmp: string, server: MysqlFamilyServer, account: OsAccount): Promise<string> {
  const data = join(tmp, 'data')
  await mkdir(data, { mode: 0o700 })
  if (runningAsRoot()) await chown(data, account.uid, account.gid)
  const password = newPassword()
  await server.initialise(data, templateStatements(password), account)
  return password
}

/** Datastore.warm for a server of the family: builds the template ahead of the first prepare (called when the node starts). */
export const warmTemplate =
  (server: MysqlFamilyServer) =>
  async (node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<void> => {
    await ensureTemplate(node.cacheDir, server, node.version, node.account)
  }
