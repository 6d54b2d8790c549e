/**
 * PostgreSQL backups with pgBackRest against a real PostgreSQL 15: full and incremental backups
 * of a serving engine, restores of each into new instances (exact rows, users' logins), a restore
 * to a point in time between two rows, tamper, a backup cancelled halfway, expiry, no plaintext in
 * the repository, and the same full backup and restore on S3 (OpenStack Swift over TLS).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { ObjectStoreSettings } from '../src/config.js'
import type { ArchiveTarget, BackupLocation, StoredBackup } from '../src/guest/datastores/backup.js'
import { procStat } from '../src/guest/datastores/common/process.js'
import type { InstanceContext, PrepareSpec } from '../src/guest/datastores/datastore.js'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { stanzaInfo } from '../src/guest/datastores/postgresql/pgbackrest.js'
import { FsObjectStore } from '../src/storage/fs/fs-object-store.js'
import { S3ObjectStore } from '../src/storage/s3/s3-object-store.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'
import { startSwift, swiftMissing } from './helpers/swift.js'

const MARKER = 'row-marker-7f3a9c'
const PASSWORD = "al1ce's pass"
const spec: PrepareSpec = { databases: [{ name: 'shop' }], users: [{ name: 'alice', password: PASSWORD, databases: [{ name: 'shop' }] }] }
const admin = postgresql.backup!

async function asAlice<T>(ctx: InstanceContext, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: '127.0.0.1', port: ctx.port, user: 'alice', password: PASSWORD, database: 'shop', connectionTimeoutMillis: 5000 })
  c.on('error', () => undefined)
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

const rowsOf = (ctx: InstanceContext): Promise<string[]> =>
  asAlice(ctx, async (c) => (await c.query<{ id: number; note: string }>('SELECT id, note FROM items ORDER BY id')).rows.map((r) => `${r.id}:${r.note}`))

const insert = (ctx: InstanceContext, ids: number[]): Promise<void> =>
  asAlice(ctx, async (c) => {
    for (const id of ids) await c.query('INSERT INTO items (id, note) VALUES ($1, $2)', [id, `${MARKER}-${id}`])
  })

const expected = (n: number): string[] => Array.from({ length: n }, (_, i) => `${i + 1}:${MARKER}-${i + 1}`)

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await filesUnder(p)))
    else if (e.isFile()) out.push(p)
  }
  return out
}

const pgbackrestProcesses = async (): Promise<string[]> => {
  const found: string[] = []
  for (const name of await readdir('/proc')) {
    const st = /^\d+$/.test(name) ? await procStat(Number(name)) : undefined
    if (st?.comm === 'pgbackrest' && st.state !== 'Z') found.push(`${name} ${st.state} ${(await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ')}`)
  }
  return found
}

describe('PostgreSQL backups (pgBackRest)', async () => {
  const manifest = await postgresql.discover()
  const version = manifest.versions.find((v) => v.name === '15')
  let guest: GuestHome
  let ctx: InstanceContext
  let location: BackupLocation
  let archive: ArchiveTarget
  let objectsRoot: string
  let full: StoredBackup
  let incr: StoredBackup
  let pitrTime: Date
  let n = 0
  const newCtx = (): Promise<InstanceContext> => guest.newContext(`r${++n}`, `00000000-0000-4000-8000-00000000010${n}`)

  const take = async (backupId: string, parent?: StoredBackup, c = ctx, loc = location, arch = archive): Promise<StoredBackup> => {
    const dataKey = randomBytes(32)
    const prefix = `backups/${backupId}/`
    const out = await admin.backup(c, { backupId, location: loc, prefix, dataKey, archive: arch, ...(parent ? { parent } : {}) })
    return { backupId, prefix, objects: out.objects, dataKey, position: out.position, takenAt: out.takenAt }
  }

  /** Restores into a new instance, starts it, and returns it with its rows. */
  const restoreNew = async (chain: StoredBackup[], restoreTime?: Date, loc = location, arch?: ArchiveTarget): Promise<{ c: InstanceContext; rows: string[] }> => {
    const c = await newCtx()
    await admin.restore(c, { location: loc, chain, ...(restoreTime ? { restoreTime, archive: arch ?? archive } : arch ? { archive: arch } : {}) })
    assert.equal((await postgresql.engine.status(c)).state, 'stopped', 'restore leaves the engine stopped')
    await postgresql.engine.start(c)
    const status = await postgresql.engine.status(c)
    assert.equal(status.healthy, true, `restored instance is healthy: ${status.detail ?? ''}`)
    const rows = await rowsOf(c)
    return { c, rows }
  }

  before(async () => {
    assert.ok(version, 'PostgreSQL 15 is installed')
    guest = await makeGuestHome(postgresql, version, { label: 'pgbr', instanceId: '00000000-0000-4000-8000-0000000000a1', stopSignal: 'SIGQUIT' })
    ctx = guest.ctx
    objectsRoot = join(guest.home, 'objects')
    await mkdir(objectsRoot, { mode: 0o700 })
    location = { store: new FsObjectStore(objectsRoot), settings: { kind: 'fs', root: objectsRoot } }
    archive = { location, prefix: `archives/${ctx.instanceId}/`, key: randomBytes(32), instanceId: ctx.instanceId }
    await postgresql.engine.prepare(ctx, spec)
    await asAlice(ctx, (c) => c.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)'))
  })

  after(() => guest?.cleanup())

  it('offers full, incremental and point-in-time backups', () => {
    assert.equal(admin.strategy, 'pgbackrest')
    assert.equal(admin.supportsIncremental, true)
    assert.equal(admin.supportsPointInTime, true)
  })

  it('takes a full backup of the serving engine', async (t) => {
    await insert(ctx, [1, 2, 3])
    const started = performance.now()
    full = await take('b-full')
    t.diagnostic(`full backup (enable + stanza + backup): ${Math.round(performance.now() - started)} ms`)
    assert.match(full.position.label ?? '', /^\d{8}-\d{6}F$/)
    assert.equal(full.position.type, 'full')
    assert.match(full.position.walStart ?? '', /^[0-9A-F]{24}$/)
    assert.ok(full.takenAt.getTime() <= Date.now() && full.takenAt.getTime() > Date.now() - 60_000)
    assert.deepEqual(full.objects.map((o) => o.key), ['backups/b-full/repository'])
    assert.deepEqual(await rowsOf(ctx), expected(3), 'still serving')
  })

  it('takes an incremental on top of the latest backup, and refuses one on an older backup', async () => {
    await insert(ctx, [4, 5, 6])
    incr = await take('b-incr', full)
    assert.equal(incr.position.type, 'incr')
    assert.equal(incr.position.prior, full.position.label)
    await assert.rejects(take('b-bad', full), (err: { code?: string; message?: string }) => err.code === 'VALIDATION' && /latest/.test(err.message ?? ''))
  })

  it('ships WAL so a restore reaches a time between two rows', async () => {
    await insert(ctx, [7])
    await sleep(100)
    pitrTime = new Date()
    await sleep(100)
    await insert(ctx, [8])
    const latest = await admin.archiving!.ship(ctx, archive, { maxAgeSeconds: 0 })
    assert.ok(latest && latest.getTime() > pitrTime.getTime(), `the archive reaches past row 8 (latest ${latest?.toISOString()})`)
    const window = await admin.archiving!.window(archive, [full, incr])
    assert.equal(window.earliest?.getTime(), full.takenAt.getTime())
    assert.equal(window.latest?.getTime(), latest.getTime())
    const { c, rows } = await restoreNew([full, incr], pitrTime)
    assert.deepEqual(rows, expected(7), 'exactly the rows committed before the time')
    await postgresql.engine.stop(c)
  })

  it('restores the full and the incremental into new instances, with users and their passwords', async (t) => {
    const started = performance.now()
    const a = await restoreNew([full])
    t.diagnostic(`restore of the full backup to a started engine: ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(a.rows, expected(3))
    assert.deepEqual(await admin.check(a.c), { databases: 1, tables: 1 })
    // Writable: recovery ended and the engine was promoted.
    await insert(a.c, [100])
    await postgresql.engine.stop(a.c)
    const b = await restoreNew([full, incr])
    assert.deepEqual(b.rows, expected(6))
    const owner = await stat(join(b.c.volumeDir, 'data', 'base'))
    assert.equal(owner.uid, b.c.account.uid)
    await postgresql.engine.stop(b.c)
  })

  it('verifies, and stores no plaintext', async () => {
    await admin.verify!({ location, backup: full, archive })
    await admin.verify!({ location, backup: incr })
    const files = await filesUnder(objectsRoot)
    assert.ok(files.length > 10)
    for (const f of files) {
      const bytes = await readFile(f)
      assert.equal(bytes.includes(MARKER), false, `${f} holds a row in the clear`)
      assert.equal(bytes.includes(archive.key.toString('hex')), false, `${f} holds the passphrase`)
    }
  })

  it('refuses a tampered backup with OBJECT_CORRUPT naming it, and leaves the volume empty', async () => {
    const dir = join(objectsRoot, 'pgbackrest', ctx.instanceId, 'backup', ctx.instanceId, full.position.label!)
    // The largest stored file of the backup (a bundle of the cluster's small files, or a big table's file).
    const candidates = await Promise.all((await filesUnder(dir)).filter((f) => !/manifest/.test(f)).map(async (f) => ({ f, size: (await stat(f)).size })))
    const victim = candidates.sort((a, b) => b.size - a.size)[0]!.f
    const fh = await open(victim, 'r+')
    const at = Math.floor((await fh.stat()).size / 2)
    const original = Buffer.alloc(1)
    await fh.read(original, 0, 1, at)
    await fh.write(Buffer.from([original[0]! ^ 0x5a]), 0, 1, at)
    try {
      const corrupt = (err: { code?: string; message?: string }): boolean => err.code === 'OBJECT_CORRUPT' && err.message!.includes('b-full')
      await assert.rejects(admin.verify!({ location, backup: full, archive }), corrupt)
      const c = await newCtx()
      await assert.rejects(admin.restore(c, { location, chain: [full] }), corrupt)
      assert.deepEqual(await readdir(c.volumeDir), [], 'nothing left on the volume')
    } finally {
      await fh.write(original, 0, 1, at)
      await fh.close()
    }
  })

  it('leaves no half backup when a backup is cancelled halfway, and the engine keeps serving', async (t) => {
    await asAlice(ctx, (c) =>
      c.query(`CREATE TABLE big AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS pad FROM generate_series(1, 1500000) g`),
    )
    const before = (await stanzaInfo({ settings: location.settings, store: location.store, stanza: ctx.instanceId, key: archive.key })).backups.map((b) => b.label)
    const backupDir = join(objectsRoot, 'pgbackrest', ctx.instanceId, 'backup', ctx.instanceId)
    const ac = new AbortController()
    const started = performance.now()
    const progress: number[] = []
    const running = admin.backup(
      { ...ctx, signal: ac.signal },
      { backupId: 'b-cut', location, prefix: 'backups/b-cut/', dataKey: randomBytes(32), archive, onProgress: (b) => progress.push(b) },
    )
    running.catch(() => undefined)
    let settled = false
    running.then(() => (settled = true), () => (settled = true))
    // Cancel once pgBackRest has written 10 MB of the new backup (the big table is ~190 MB).
    for (;;) {
      assert.equal(settled, false, 'the backup was still running when cancelled')
      const dirs = (await readdir(backupDir)).filter((d) => /^\d{8}-\d{6}F/.test(d) && !before.includes(d))
      const sizes = dirs.length ? await Promise.all((await filesUnder(join(backupDir, dirs[0]!))).map(async (f) => (await stat(f).catch(() => ({ size: 0 }))).size)) : []
      if (sizes.reduce((a, b) => a + b, 0) > 10 * 1024 * 1024) break
      await sleep(10)
    }
    ac.abort()
    await assert.rejects(running)
    t.diagnostic(`cancelled after ${Math.round(performance.now() - started)} ms; progress reports before the cancel: ${progress.length}`)
    const after = (await stanzaInfo({ settings: location.settings, store: location.store, stanza: ctx.instanceId, key: archive.key })).backups.map((b) => b.label)
    assert.deepEqual(after, before, 'no backup recorded')
    assert.deepEqual((await readdir(backupDir)).filter((d) => /^\d{8}-\d{6}F/.test(d)).sort(), [...before].sort(), 'no backup folder left')
    assert.equal(await location.store.head('backups/b-cut/repository'), undefined)
    assert.deepEqual(await pgbackrestProcesses(), [], 'no pgbackrest process left')
    assert.equal((await postgresql.engine.status(ctx)).healthy, true)
    assert.deepEqual(await rowsOf(ctx), expected(8))
  })

  it('removes the incremental (expire) and its objects', async () => {
    await admin.remove!({ location, backup: incr, archive })
    const labels = (await stanzaInfo({ settings: location.settings, store: location.store, stanza: ctx.instanceId, key: archive.key })).backups.map((b) => b.label)
    assert.deepEqual(labels, [full.position.label])
    assert.equal(await location.store.head('backups/b-incr/repository'), undefined)
  })

  const missing = swiftMissing()
  it('backs up to and restores from S3 (Swift over TLS)', { skip: missing ?? false }, async (t) => {
    const swift = await startSwift({ tls: true })
    try {
      const settings: ObjectStoreSettings = {
        kind: 's3',
        endpoint: swift.endpoint,
        bucket: 'coffer-pg',
        region: swift.region,
        accessKeyId: swift.accessKeyId,
        secretAccessKey: swift.secretAccessKey,
        ...(swift.caFile ? { caFile: swift.caFile } : {}),
      }
      const store = new S3ObjectStore(settings)
      await store.ensureBucket()
      const s3: BackupLocation = { store, settings }
      const source = await guest.newContext('s3src', '00000000-0000-4000-8000-0000000000b1')
      const s3Archive: ArchiveTarget = { location: s3, prefix: `archives/${source.instanceId}/`, key: randomBytes(32), instanceId: source.instanceId }
      await postgresql.engine.prepare(source, spec)
      await asAlice(source, (c) => c.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)'))
      await insert(source, [1, 2])
      const started = performance.now()
      const b = await take('s3-full', undefined, source, s3, s3Archive)
      t.diagnostic(`full backup to S3: ${Math.round(performance.now() - started)} ms`)
      await postgresql.engine.stop(source)
      // Without the archive: the backup's own sealed object leads to its repository.
      const { c, rows } = await restoreNew([b], undefined, s3)
      assert.deepEqual(rows, expected(2))
      await postgresql.engine.stop(c)
      await admin.archiving!.remove(s3Archive)
      assert.deepEqual((await store.list(`pgbackrest/${source.instanceId}/`)).objects, [])
      store.close()
    } finally {
      await swift.stop()
    }
  })
})
