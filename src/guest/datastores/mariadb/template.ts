/**
 * A pre-initialised, already hardened data folder per node, server and version, copied into each
 * new instance: copy + start takes ~0.3 s where mariadb-install-db + start takes ~1 s
 * (shared/ENGINE-NOTES.md).
 *
 * Layout: `<cacheDir>/<server>-<version>/{data/, secret.json, READY}`. It is built in a temporary
 * sibling folder and renamed into place complete, so a crash never leaves a half template that
 * looks finished; leftovers of dead builders are removed. The template is hardened before any
 * server listens on a network (no anonymous users, root only at localhost and locked, no test
 * database), so an instance is never reachable with a blank password, not even for a moment. Its
 * service password is replaced in every instance when it is prepared.
 */
import { randomBytes } from 'node:crypto'
import { access, chmod, chown, mkdir, readdir, rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as mysql from 'mysql2/promise'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { removeTree, syncDir, syncFileSystem, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { isAlive, runAs } from '../common/process.js'
import { newPassword, readSecret, writeSecret } from '../common/secrets.js'
import type { OsAccount } from '../datastore.js'
import { MARIADB_INSTALL_DB, type MysqlFamilyServer, SERVICE_USER } from './manifest.js'

/** Redo log size the template is built with; instances whose tuning wants more resize it at first start. */
export const TEMPLATE_LOG_FILE_SIZE = '16M'

/** A ready template. */
export interface MysqlFamilyTemplate {
  /** Data folder to copy (`cp -a`); owned by the account it was built for. */
  readonly dataDir: string
  /** Password of the service account inside the template. */
  readonly password: string
  /** Owner of `dataDir`, so a copy can tell whether it must change owners. */
  readonly uid: number
}

const building = new Map<string, Promise<MysqlFamilyTemplate>>()

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
): Promise<MysqlFamilyTemplate> {
  const key = `${cacheDir}\0${server.name}\0${version.name}`
  let p = building.get(key)
  if (!p) {
    p = readyTemplate(cacheDir, server, version, account)
    building.set(key, p)
    p.catch(() => building.delete(key))
  }
  return p
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
    ], account)
  } finally {
    await removeTree(sqlFile)
  }
}

async function readyTemplate(cacheDir: string, server: MysqlFamilyServer, version: DatastoreVersionInfo, account: OsAccount): Promise<MysqlFamilyTemplate> {
  const name = `${server.name}-${version.name}`
  const dir = join(cacheDir, name)
  const found = await readTemplate(dir)
  if (found) return found
  // Only a rename creates `dir`, READY inside: without READY it is not ours to trust.
  await removeTree(dir)
  await mkdir(cacheDir, { recursive: true })
  await removeDeadBuilds(cacheDir, `${name}.tmp-`)
  const tmp = join(cacheDir, `${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await build(tmp, server, version, account)
    try {
      await rename(tmp, dir)
    } catch (err) {
      // Another Coffer process on this node finished first: use its template.
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err
    }
    await syncDir(cacheDir)
  } finally {
    await removeTree(tmp)
  }
  const made = await readTemplate(dir)
  if (!made) throw new Error(`${server.name} template ${dir} is incomplete after being built`)
  return made
}

async function readTemplate(dir: string): Promise<MysqlFamilyTemplate | undefined> {
  try {
    await access(join(dir, 'READY'))
  } catch {
    return undefined
  }
  const secret = await readSecret<{ password?: string }>(dir, 'secret')
  if (!secret?.password) return undefined
  const dataDir = join(dir, 'data')
  return { dataDir, password: secret.password, uid: (await stat(dataDir)).uid }
}

async function build(tmp: string, server: MysqlFamilyServer, version: DatastoreVersionInfo, account: OsAccount): Promise<void> {
  // Coffer owns the folder; the engine's account may only pass through to data/ and the SQL file.
  await mkdir(tmp, { mode: 0o711 })
  await chmod(tmp, 0o711)
  const data = join(tmp, 'data')
  await mkdir(data, { mode: 0o700 })
  if (runningAsRoot()) await chown(data, account.uid, account.gid)
  const password = newPassword()
  await server.initialise(data, templateStatements(password), account)
  await writeSecret(tmp, 'secret', { password })
  // The bootstrap does not fsync everything: flush once here, so every copy starts from data on disk.
  await syncFileSystem(tmp)
  await writeFileAtomic(join(tmp, 'READY'), `${version.versionNumber}\n`, { mode: 0o644, durable: true })
}

// Builders leave `<prefix><pid>-<random>` behind when they crash; this process's own leftovers are dead too.
async function removeDeadBuilds(cacheDir: string, prefix: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith(prefix)) continue
    const pid = Number(entry.slice(prefix.length).split('-')[0])
    if (pid === process.pid || !(await isAlive(pid))) await removeTree(join(cacheDir, entry))
  }
}

/** Datastore.warm for a server of the family: builds the template ahead of the first prepare (called when the node starts). */
export const warmTemplate =
  (server: MysqlFamilyServer) =>
  async (node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<void> => {
    await ensureTemplate(node.cacheDir, server, node.version, node.account)
  }
