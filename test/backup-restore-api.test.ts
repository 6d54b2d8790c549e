/**
 * Backups and restores through the API, on each engine with its real tools: rows written, a full
 * backup, more rows, an incremental one, each point restored into a new instance and compared
 * exactly; a point-in-time restore sees exactly the rows committed before the time asked; and the
 * bad cases: an instance that is not ACTIVE, a volume too small, a time outside the window, a
 * parent with children, a tampered object, a deleted instance whose backups still restore.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, type Where } from './helpers/engines.js'

const PASSWORD = 'app-Passw0rd'
const host = (w: Where) => (typeof w === 'number' ? { host: '127.0.0.1', port: w } : w)

interface EngineCase {
  readonly type: string
  readonly version: string
  readonly incremental: boolean
  readonly pointInTime: boolean
  readonly createExtra: Record<string, unknown>
  /** Writes rows (keys) named `tag-0..n-1`. */
  write(w: Where, tag: string, n: number): Promise<void>
  /** Every row's name, sorted. */
  rows(w: Where): Promise<string[]>
}

const withPg = async <T>(w: Where, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = new pg.Client({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 5000 })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}
const withMaria = async <T>(w: Where, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
  const c = await mysql.createConnection({ ...host(w), user: 'app', password: PASSWORD, database: 'app', connectTimeout: 5000 })
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}
const withRedis = async <T>(w: Where, fn: (r: Redis) => Promise<T>): Promise<T> => {
  const r = new Redis({ ...host(w), username: 'app', password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  await r.connect()
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

const schemaBody = { databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] }

const ENGINES: EngineCase[] = [
  {
    type: 'postgresql',
    version: '15',
    incremental: true,
    pointInTime: true,
    createExtra: schemaBody,
    write: (w, tag, n) =>
      withPg(w, async (c) => {
        await c.query('CREATE TABLE IF NOT EXISTS t (name text primary key, at timestamptz default now())')
        for (let i = 0; i < n; i++) await c.query('INSERT INTO t (name) VALUES ($1)', [`${tag}-${i}`])
      }),
    rows: (w) => withPg(w, async (c) => (await c.query('SELECT name FROM t ORDER BY name')).rows.map((r) => r.name as string)),
  },
  {
    type: 'mariadb',
    version: '10.11',
    incremental: true,
    pointInTime: true,
    createExtra: schemaBody,
    write: (w, tag, n) =>
      withMaria(w, async (c) => {
        await c.query('CREATE TABLE IF NOT EXISTS t (name varchar(64) primary key, at timestamp(6) default current_timestamp(6))')
        for (let i = 0; i < n; i++) await c.query('INSERT INTO t (name) VALUES (?)', [`${tag}-${i}`])
      }),
    rows: (w) => withMaria(w, async (c) => ((await c.query('SELECT name FROM t ORDER BY name'))[0] as { name: string }[]).map((r) => r.name)),
  },
  {
    type: 'redis',
    version: '7.0',
    incremental: false,
    pointInTime: false,
    createExtra: { users: [{ name: 'app', password: PASSWORD, databases: [] }] },
    write: (w, tag, n) =>
      withRedis(w, async (r) => {
        for (let i = 0; i < n; i++) await r.set(`${tag}-${i}`, `value of ${tag}-${i}`)
      }),
    // SCAN, not KEYS: a client user of Coffer's Redis may not run KEYS (it is @dangerous).
    rows: (w) =>
      withRedis(w, async (r) => {
        const keys: string[] = []
        let cursor = '0'
        do {
          const [next, found] = await r.scan(cursor, 'COUNT', 1000)
          keys.push(...found)
          cursor = next
        } while (cursor !== '0')
        return keys.sort()
      }),
  },
]

describe('backups and restores through the API', () => {
  let coffer: CofferProcess
  let api: TestClient

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_ARCHIVE_SECONDS: '2' }))
  })
  after(async () => {
    await coffer?.destroy()
  })

  const create = async (name: string, e: EngineCase, extra: Record<string, unknown> = {}) => {
    const r = await api.api('POST', '/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: e.type, version: e.version }, ...extra } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const done = await api.waitFor(r.body.instance.id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)
    return done.body.instance
  }
  const backup = async (instance: string, name: string, extra: Record<string, unknown> = {}) => {
    const r = await api.api('POST', '/backups', { backup: { name, instance, ...extra } })
    assert.equal(r.status, 202, JSON.stringify(r.body))
    return api.waitBackup(r.body.backup.id)
  }
  /** Runs a restore drill and resolves with the backup once its `verified` changed. */
  const drill = async (id: string) => {
    const before = (await api.api('GET', `/backups/${id}`)).body.backup.verified?.at
    assert.equal((await api.api('POST', `/backups/${id}/action`, { verify: {} })).status, 202)
    for (let i = 0; i < 600; i++) {
      const b = (await api.api('GET', `/backups/${id}`)).body.backup
      if (b.verified && b.verified.at !== before) return b
      await sleep(200)
    }
    throw new Error(`the drill of backup ${id} did not end`)
  }
  const restore = (name: string, restorePoint: Record<string, unknown>, e: EngineCase) => create(name, e, { restorePoint, datastore: undefined })
  const remove = async (...ids: string[]) => {
    for (const id of ids) await api.api('DELETE', `/instances/${id}`)
    for (const id of ids) await api.waitGone(id)
  }

  describe('through Trove\'s own clients, verbatim', { skip: !existsSync('/usr/bin/trove') && 'no trove CLI (make test installs it)' }, () => {
    const run = promisify(execFile)
    let scratch: string
    const env = () => ({ PATH: process.env.PATH, HOME: scratch, ...Object.fromEntries([...readFileSync(join(coffer.home, 'openrc'), 'utf8').matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]])) })
    const trove = async (...args: string[]) => (await run('trove', args, { env: env(), timeout: 60_000 })).stdout
    const field = (out: string, name: string) => new RegExp(`\\|\\s*${name}\\s*\\|\\s*(\\S+)`).exec(out)?.[1]
    before(() => {
      scratch = mkdtempSync('/tmp/coffer-backup-clients-')
    })
    after(() => rmSync(scratch, { recursive: true, force: true }))

    it('trove backup-create, backup-list, backup-show, create --backup, backup-delete', async () => {
      const redis = ENGINES.find((x) => x.type === 'redis')!
      const src = await create('clients-src', redis, redis.createExtra)
      await redis.write(at(src), 'cli', 5)
      const created = await trove('backup-create', src.id, 'cli-backup', '--description', 'from trove')
      const id = field(created, 'id')!
      assert.match(created, /\|\s*status\s*\|\s*(NEW|BUILDING|SAVING|COMPLETED)\s/)
      assert.equal((await api.waitBackup(id)).status, 'COMPLETED')
      assert.match(await trove('backup-list'), new RegExp(id))
      assert.match(await trove('backup-show', id), /\|\s*status\s*\|\s*COMPLETED/)
      assert.match(await trove('backup-list-instance', src.id), new RegExp(id))
      const restored = await trove('create', 'clients-copy', '1', '--size', '1', '--backup', id)
      const copyId = field(restored, 'id')!
      const copy = (await api.waitFor(copyId, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
      assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
      assert.deepEqual(await redis.rows(at(copy)), await redis.rows(at(src)))
      await remove(copy.id, src.id)
      await trove('backup-delete', id)
      for (let i = 0; i < 100 && (await api.api('GET', `/backups/${id}`)).status !== 404; i++) await sleep(200)
      assert.equal((await api.api('GET', `/backups/${id}`)).status, 404)
    })
  })

  for (const e of ENGINES) {
    describe(e.type, () => {
      let source: any
      let full: any

      it('backs up while serving, and restores the backup exactly into a new instance', async () => {
        source = await create(`${e.type}-src`, e, e.createExtra)
        assert.equal(source.status, 'ACTIVE', JSON.stringify(source))
        await e.write(at(source), 'before', 20)
        const posted = await api.api('POST', '/backups', { backup: { name: 'full', instance: source.id, description: 'the first' } })
        assert.equal(posted.status, 202)
        assert.equal(posted.body.backup.status, 'NEW')
        assert.equal((await api.api('GET', `/instances/${source.id}`)).body.instance.status, 'BACKUP', 'the instance shows BACKUP while one runs')
        full = await api.waitBackup(posted.body.backup.id)
        assert.equal(full.status, 'COMPLETED', JSON.stringify(full))
        assert.ok(full.size >= 0 && full.data_size_bytes > 0 && full.taken_at, JSON.stringify(full))
        assert.equal(full.parent_id, null)
        assert.equal((await api.waitActive(source.id)).body.instance.status, 'ACTIVE')
        assert.deepEqual(await e.rows(at(source)), Array.from({ length: 20 }, (_, i) => `before-${i}`).sort())

        const copy = await restore(`${e.type}-copy`, { backupRef: full.id }, e)
        assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
        assert.deepEqual(await e.rows(at(copy)), await e.rows(at(source)), 'the restored instance has exactly the rows, and the user logs in with its password')
        await remove(copy.id)
      })

      it('takes an incremental backup and restores its whole chain', { skip: !e.incremental && `${e.type} takes only full backups` }, async () => {
        await e.write(at(source), 'after', 10)
        const inc = await backup(source.id, 'inc', { incremental: 1 })
        assert.equal(inc.status, 'COMPLETED', JSON.stringify(inc))
        assert.equal(inc.parent_id, full.id)
        const copy = await restore(`${e.type}-inc`, { backupRef: inc.id }, e)
        assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
        assert.deepEqual(await e.rows(at(copy)), await e.rows(at(source)))
        const refused = await api.api('DELETE', `/backups/${full.id}`)
        assert.equal(refused.status, 409, 'a parent with children cannot go')
        assert.match(refused.body.conflictingRequest?.message ?? JSON.stringify(refused.body), new RegExp(inc.id))
        await remove(copy.id)
      })

      it('refuses incremental backups where the datastore has none', { skip: e.incremental && 'has incrementals' }, async () => {
        const r = await api.api('POST', '/backups', { backup: { name: 'inc', instance: source.id, parent_id: full.id } })
        assert.equal(r.status, 400, JSON.stringify(r.body))
      })

      it('restores to a point in time: exactly the rows committed before it', { skip: !e.pointInTime && `${e.type} has no point-in-time restore` }, async () => {
        await e.write(at(source), 'pitr-a', 3)
        await sleep(1500)
        const between = new Date().toISOString()
        await sleep(1500)
        await e.write(at(source), 'pitr-b', 3)
        const expected = (await e.rows(at(source))).filter((r) => !r.startsWith('pitr-b'))
        // The archive reaches past the time asked once the node has shipped it.
        let shown: any
        for (let i = 0; i < 100; i++) {
          shown = (await api.api('GET', `/instances/${source.id}`)).body.instance
          if (shown.restorable?.latest > between) break
          await sleep(300)
        }
        assert.ok(shown.restorable?.latest > between, `restorable window: ${JSON.stringify(shown.restorable)}`)
        const outside = await api.api('POST', '/instances', { instance: { name: 'early', flavorRef: '1', volume: { size: 1 }, restorePoint: { instanceRef: source.id, restoreTime: '2001-01-01T00:00:00Z' } } })
        assert.equal(outside.status, 400)
        assert.match(outside.body.badRequest.message, /outside the restorable window .* to /)
        const copy = await restore(`${e.type}-pitr`, { instanceRef: source.id, restoreTime: between }, e)
        assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
        assert.deepEqual(await e.rows(at(copy)), expected)
        await remove(copy.id)
      })

      it('refuses what it cannot do, changing nothing', async () => {
        const before = (await api.api('GET', '/backups')).body.backups.length
        const small = await api.api('POST', '/instances', { instance: { name: 'x', flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef: 'no-such-backup' } } })
        assert.equal(small.status, 404)
        const noName = await api.api('POST', '/backups', { backup: { instance: source.id } })
        assert.equal(noName.status, 400)
        const stop = await api.api('POST', `/instances/${source.id}/action`, { stop: {} })
        assert.equal(stop.status, 202)
        // Stopped for good once the stop task is done: SHUTDOWN from the engine, not the task.
        await api.waitFor(source.id, (r) => r.body.instance.operating_status === 'SHUTDOWN')
        const notActive = await api.api('POST', '/backups', { backup: { name: 'x', instance: source.id } })
        assert.equal(notActive.status, 422, JSON.stringify(notActive.body))
        assert.equal((await api.api('GET', '/backups')).body.backups.length, before, 'no backup was recorded')
        assert.equal((await api.api('POST', `/instances/${source.id}/action`, { start: {} })).status, 202)
        assert.equal((await api.waitActive(source.id)).body.instance.status, 'ACTIVE')
      })

      it('refuses to restore a tampered backup, naming it', async () => {
        const victim = await backup(source.id, 'to-tamper')
        assert.equal(victim.status, 'COMPLETED')
        // A restore drill of the sound backup passes: restored into a throwaway engine, every table read.
        const drilled = await drill(victim.id)
        assert.equal(drilled.verified?.status, 'passed', JSON.stringify(drilled))
        assert.match(drilled.verified.detail, /read \d+ table/)
        const changed = await tamper(coffer.home, victim.id, e.type, source.id)
        assert.ok(changed, 'an object of the backup was found to alter')
        const failed = await drill(victim.id)
        assert.equal(failed.verified?.status, 'failed', 'the drill of the tampered backup fails, loudly')
        assert.match(failed.status_detail, /RESTORE DRILL FAILED/)
        const r = await api.api('POST', '/instances', { instance: { name: `${e.type}-bad`, flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef: victim.id } } })
        if (r.status === 200) {
          const ended = (await api.waitFor(r.body.instance.id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
          assert.equal(ended.status, 'ERROR', 'a tampered backup never becomes an instance')
          assert.match(ended.fault.message, new RegExp(victim.id))
          await remove(ended.id)
        } else assert.match(JSON.stringify(r.body), new RegExp(victim.id))
        const del = await api.api('DELETE', `/backups/${victim.id}`)
        assert.equal(del.status, 202)
      })

      it('keeps the backups of a deleted instance, which still restore', async () => {
        const last = await backup(source.id, 'last')
        assert.equal(last.status, 'COMPLETED')
        const rows = await e.rows(at(source))
        await remove(source.id)
        const listed = (await api.api('GET', `/instances/${source.id}/backups`)).body.backups
        assert.ok(listed.some((b: any) => b.id === last.id))
        const copy = await restore(`${e.type}-after`, { backupRef: last.id }, e)
        assert.equal(copy.status, 'ACTIVE', JSON.stringify(copy))
        assert.deepEqual(await e.rows(at(copy)), rows)
        await remove(copy.id)
        // A chain is deleted from its tip; then nothing of the instance is left.
        for (const b of (await api.api('GET', `/instances/${source.id}/backups`)).body.backups) {
          assert.equal((await api.api('DELETE', `/backups/${b.id}`)).status, 202, `delete ${b.id}`)
          for (let i = 0; i < 100 && (await api.api('GET', `/backups/${b.id}`)).status !== 404; i++) await sleep(200)
        }
        assert.deepEqual((await api.api('GET', `/instances/${source.id}/backups`)).status, 404)
      })
    })
  }
})

/**
 * Flips a byte in the middle of the largest file of the backup in the home's object store (a
 * pgBackRest repository file for PostgreSQL, Coffer's sealed object otherwise).
 */
async function tamper(home: string, backupId: string, type: string, instanceId: string): Promise<boolean> {
  const root = join(home, 'objects')
  let dir = join(root, 'backups', backupId)
  if (type === 'postgresql') {
    // pgBackRest's repository: the newest backup set of the instance's stanza is the one just taken.
    const sets = join(root, 'pgbackrest', instanceId, 'backup', instanceId)
    const newest = (await readdir(sets).catch(() => [] as string[])).filter((n) => /^\d{8}-\d{6}F/.test(n)).sort().at(-1)
    if (!newest) return false
    dir = join(sets, newest, 'pg_data')
  }
  const files: { path: string; size: number }[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, d.name)
      if (d.isDirectory()) await walk(p)
      else files.push({ path: p, size: (await readFile(p)).length })
    }
  }
  await walk(dir)
  const target = files.sort((a, b) => b.size - a.size)[0]
  if (!target) return false
  const bytes = await readFile(target.path)
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff
  await writeFile(target.path, bytes)
  return true
}
