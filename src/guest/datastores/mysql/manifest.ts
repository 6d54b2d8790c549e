/**
 * What this node offers of MySQL: a real MySQL server at /usr/sbin/mysqld, or nothing. On Debian
 * with MariaDB installed, /usr/sbin/mysqld is a symbolic link to mariadbd; that is MariaDB (offered
 * as `mariadb`), never MySQL, so discovery asks the binary itself and offers no version unless it
 * says it is not MariaDB.
 *
 * The initialiser and settings below follow MySQL 8's documentation but have not run here: no
 * MySQL server exists on the nodes this was written on. They are only used once one is found.
 */
import { dirname, join } from 'node:path'
import type { NameRules } from '../../../core/manifest.js'
import type { DiscoveredManifest } from '../define-datastore.js'
import { toolFailed } from '../common/engine-errors.js'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { runAs } from '../common/process.js'
import type { OsAccount } from '../datastore.js'
import { MYSQL_FAMILY_LIMITS, mariadbNames, serverVersion, versionInfo } from '../mariadb/manifest.js'

/** Where MySQL's packages put the server; on Debian with MariaDB, a link to mariadbd. */
export const MYSQL_SERVER_BINARY = '/usr/sbin/mysqld'

/** MariaDB's rules, but MySQL 8 allows user names of at most 32 characters. */
export const mysqlNames: NameRules = { ...mariadbNames, maxLength: 32 }

/** Settings only MySQL understands, instead of MariaDB's enforce_storage_engine and NO_AUTO_CREATE_USER. */
export const MYSQL_ONLY_SETTINGS: readonly (readonly [string, string])[] = [
  ['sql_mode', 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'],
  ['disabled_storage_engines', 'MyISAM,MRG_MYISAM,BLACKHOLE,FEDERATED,ARCHIVE,CSV,MEMORY'],
  // The X Protocol plugin would otherwise listen on port 33060 of every address.
  ['mysqlx', 'OFF'],
]

/** `mysqld --initialize-insecure` (root@localhost without a password), then `statements` via --init-file, before it listens. */
export async function initialiseMysql(dataDir: string, statements: readonly string[], account: OsAccount): Promise<void> {
  const sqlFile = join(dirname(dataDir), 'init.sql')
  await writeFileAtomic(sqlFile, statements.map((s) => `${s.replace(/\s*\n\s*/g, ' ')};\n`).join(''), { mode: 0o600, account })
  try {
    await runAs(MYSQL_SERVER_BINARY, ['--no-defaults', '--initialize-insecure', `--datadir=${dataDir}`, `--init-file=${sqlFile}`, '--innodb-log-file-size=16M'], account).catch((err: unknown) => {
      throw toolFailed(MYSQL_SERVER_BINARY, err)
    })
  } finally {
    await removeTree(sqlFile)
  }
}

/** Offers the MySQL found at /usr/sbin/mysqld, if it is MySQL. Never throws. */
export async function discoverMysql(): Promise<DiscoveredManifest> {
  const found = await serverVersion(MYSQL_SERVER_BINARY)
  const versions = found?.product === 'mysql' ? [versionInfo(found.number)] : []
  return { name: 'mysql', defaultPort: 3306, versions, names: mysqlNames, userHosts: true, ...MYSQL_FAMILY_LIMITS }
}
