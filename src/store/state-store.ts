/**
 * The state store: one Kysely database, SQLite under the home folder in the embedded mode or
 * PostgreSQL in the distributed one. Repositories take the `Db` and are plain functions.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import { migrationProvider } from './migrations/index.js'
import type { Db, Schema } from './schema.js'

export interface StateStore {
  readonly db: Db
  close(): Promise<void>
}

export async function openSqliteStore(file: string): Promise<StateStore> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  // SQLite gives its -wal and -shm files the main file's mode, so a 0600 file keeps all three private.
  closeSync(openSync(file, 'a', 0o600))
  chmodSync(file, 0o600)
  for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600)
  const database = new SQLite(file)
  // WAL lets the CLI and tests read while the server writes; NORMAL sync is durable across crashes of
  // the process (the only crash a kill -9 test can cause) and still fast.
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = NORMAL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
  // Deleted rows (revoked tokens, scrubbed task inputs) are overwritten, not left in free pages.
  database.pragma('secure_delete = ON')
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) })
  await migrate(db)
  return { db, close: () => db.destroy() }
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    throw new Error(`state store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error })
  }
}
