/**
 * Backups on an S3 object store: a real OpenStack Swift (s3api, over HTTPS with its own
 * certificate) started for the test, as Trove keeps backups in Swift. Each engine backs up to it
 * and restores from it through the API, and what Swift holds has no row in the clear.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at } from './helpers/engines.js'
import { startSwift, swiftMissing, type Swift } from './helpers/swift.js'

const PASSWORD = 'app-Passw0rd'
const MARKER = 'S3-ROW-MARKER-7f3a'

interface Case {
  readonly type: string
  readonly version: string
  readonly body: Record<string, unknown>
  write(w: { host: string; port: number }): Promise<void>
  read(w: { host: string; port: number }): Promise<string[]>
}

const schema = { databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] }
const CASES: Case[] = [
  {
    type: 'postgresql',
    version: '15',
    body: schema,
    async write(w) {
      const c = new pg.Client({ ...w, user: 'app', password: PASSWORD, database: 'app' })
      await c.connect()
      await c.query('CREATE TABLE t (v text)')
      for (let i = 0; i < 5; i++) await c.query('INSERT INTO t VALUES ($1)', [`${MARKER}-${i}`])
      await c.end()
    },
    async read(w) {
      const c = new pg.Client({ ...w, user: 'app', password: PASSWORD, database: 'app' })
      await c.connect()
      const rows = (await c.query('SELECT v FROM t ORDER BY v')).rows.map((r) => r.v as string)
      await c.end()
      return rows
    },
  },
  {
    type: 'mariadb',
    version: '10.11',
    body: schema,
    async write(w) {
      const c = await mysql.createConnection({ ...w, user: 'app', password: PASSWORD, database: 'app' })
      await c.query('CREATE TABLE t (v varchar(64))')
      for (let i = 0; i < 5; i++) await c.query('INSERT INTO t VALUES (?)', [`${MARKER}-${i}`])
      await c.end()
    },
    async read(w) {
      const c = await mysql.createConnection({ ...w, user: 'app', password: PASSWORD, database: 'app' })
      const rows = ((await c.query('SELECT v FROM t ORDER BY v'))[0] as { v: string }[]).map((r) => r.v)
      await c.end()
      return rows
    },
  },
  {
    type: 'redis',
    version: '7.0',
    body: { users: [{ name: 'app', password: PASSWORD, databases: [] }] },
    async write(w) {
      const r = new Redis({ ...w, username: 'app', password: PASSWORD, maxRetriesPerRequest: 0 })
      for (let i = 0; i < 5; i++) await r.set(`k${i}`, `${MARKER}-${i}`)
      r.disconnect()
    },
    async read(w) {
      const r = new Redis({ ...w, username: 'app', password: PASSWORD, maxRetriesPerRequest: 0 })
      const values = await Promise.all([0, 1, 2, 3, 4].map((i) => r.get(`k${i}`)))
      r.disconnect()
      return values.map(String)
    },
  },
]

describe('backups on S3 (OpenStack Swift)', { skip: swiftMissing() }, () => {
  let swift: Swift
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    swift = await startSwift({ tls: true })
    ;({ coffer, api } = await startCofferAsAdmin({
      COFFER_OBJECT_STORE: 's3',
      COFFER_S3_ENDPOINT: swift.endpoint,
      COFFER_S3_BUCKET: 'coffer-backups',
      COFFER_S3_REGION: swift.region,
      COFFER_S3_ACCESS_KEY: swift.accessKeyId,
      COFFER_S3_SECRET_KEY: swift.secretAccessKey,
      COFFER_S3_CA_FILE: swift.caFile!,
    }))
  })
  after(async () => {
    await coffer?.destroy()
    await swift?.stop()
  })

  const create = async (body: Record<string, unknown>) => {
    const r = await api.api('POST', '/instances', { instance: { flavorRef: '1', volume: { size: 1 }, ...body } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return (await api.waitFor(r.body.instance.id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
  }

  for (const e of CASES) {
    it(`${e.type}: backs up to Swift and restores from it`, async () => {
      const src = await create({ name: `${e.type}-s3`, datastore: { type: e.type, version: e.version }, ...e.body })
      assert.equal(src.status, 'ACTIVE', JSON.stringify(src))
      await e.write(at(src) as { host: string; port: number })
      const posted = await api.api('POST', '/backups', { backup: { name: 's3', instance: src.id } })
      assert.equal(posted.status, 202, JSON.stringify(posted.body))
      const b = await api.waitBackup(posted.body.backup.id)
      assert.equal(b.status, 'COMPLETED', JSON.stringify(b))
      assert.equal(b.storage_driver, 's3')
      assert.match(b.locationRef, /^s3:\/\/coffer-backups\//)
      const copy = await create({ name: `${e.type}-s3-copy`, restorePoint: { backupRef: b.id } })
      assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
      assert.deepEqual(await e.read(at(copy) as { host: string; port: number }), await e.read(at(src) as { host: string; port: number }))
      for (const id of [copy.id, src.id]) await api.api('DELETE', `/instances/${id}`)
      for (const id of [copy.id, src.id]) await api.waitGone(id)
    })
  }

  it('stores nothing in the clear in Swift, and nothing under the home', () => {
    const files = readdirSync(join(swift.dir, 'devices'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile())
    assert.ok(files.length > 0, 'Swift holds the backups')
    for (const f of files) assert.ok(!readFileSync(join(f.parentPath, f.name)).includes(MARKER), `${f.name} holds a row in the clear`)
    assert.deepEqual(readdirSync(coffer.home).filter((n) => n === 'objects'), [], 'no fs object store was used')
  })
})
