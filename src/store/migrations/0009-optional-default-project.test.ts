import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import SQLite from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import type { Schema } from '../schema.js'
import { migrationProvider } from './index.js'

describe('migration 0009: users without a default project', () => {
  it('keeps users, their roles and tokens, and lets a deleted project clear a default project', async () => {
    const database = new SQLite(':memory:')
    database.pragma('foreign_keys = ON')
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) })
    const migrator = new Migrator({ db, provider: migrationProvider })
    assert.equal((await migrator.migrateTo('0005-spare-build')).error, undefined)
    const at = new Date().toISOString()
    await db.insertInto('projects').values({ id: 'p1', name: 'team', created_at: at }).execute()
    await db.insertInto('users').values({ id: 'u1', name: 'ann', password_hash: 'h', default_project_id: 'p1', created_at: at }).execute()
    await db.insertInto('role_assignments').values({ user_id: 'u1', project_id: 'p1', role: 'member' }).execute()
    await db.insertInto('tokens').values({ token_hash: 't1', user_id: 'u1', project_id: 'p1', issued_at: at, expires_at: Date.now() + 60_000 }).execute()

    assert.equal((await migrator.migrateTo('0009-optional-default-project')).error, undefined)
    assert.deepEqual(await db.selectFrom('role_assignments').selectAll().execute(), [{ user_id: 'u1', project_id: 'p1', role: 'member' }])
    assert.equal((await db.selectFrom('tokens').select('token_hash').execute()).length, 1)
    await db.insertInto('users').values({ id: 'u2', name: 'bob', password_hash: 'h', default_project_id: null, created_at: at }).execute()
    await db.deleteFrom('projects').where('id', '=', 'p1').execute()
    assert.deepEqual(await db.selectFrom('users').select(['name', 'default_project_id']).orderBy('name').execute(), [
      { name: 'ann', default_project_id: null },
      { name: 'bob', default_project_id: null },
    ])
    await db.deleteFrom('users').where('id', '=', 'u1').execute()
    assert.equal((await db.selectFrom('tokens').select('token_hash').execute()).length, 0, 'tokens still cascade from users')
    assert.deepEqual(database.pragma('foreign_key_check'), [])
    await db.destroy()
  })
})
