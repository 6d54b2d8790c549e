/**
 * The state store: one Kysely database, SQLite under the home folder in the embedded mode or
 * PostgreSQL in the distributed one. Repositories take the `Db` and are plain functions.
 */
import { mkdirSync } from 'node:fs'
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
  mkdirSync(dirname(file), { recursive: true })
  const database = new SQLite(file)
  // WAL lets the CLI and tests read while the server writes; NORMAL sync is durable across crashes of
  // the process (the only crash a kill -9 test can cause) and still fast.
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = NORMAL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
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
