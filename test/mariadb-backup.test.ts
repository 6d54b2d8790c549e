/**
 * MariaDB backups (mariadb-backup) against a real MariaDB 10.11 and an FsObjectStore in a temporary
 * folder: a full and an incremental backup of a serving instance, each restored into a new
 * instance with exactly its data and its users' passwords, a point-in-time restore from shipped
 * binary logs, a tampered object, a backup stopped halfway (abort, and SIGKILL of the tool), and
 * no plain text in what was stored. Figures go to diagnostics.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import * as mysql from 'mysql2/promise'
import type { ArchiveTarget, BackupLocation, BackupOutcome, StoredBackup } from '../src/guest/datastores/backup.js'
import { procStat } from '../src/guest/datastores/common/process.js'
import type { InstanceContext } from '../src/guest/datastores/datastore.js'
import { mariadb } from '../src/guest/datastores/mariadb/index.js'
import { withService } from '../src/guest/datastores/mariadb/service-account.js'
import { FsObjectStore } from '../src/storage/fs/fs-object-store.js'
import { listAll } from '../src/storage/object-store.js'
import { type GuestHome, makeGuestHome, processesNaming } from './helpers/guest-context.js'

const MARKER = 'plain-marker-7f3a'
const ALICE = "al1ce's secret"
const engine = mariadb.engine
const backups = mariadb.backup!
const archiving = backups.archiving!

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await filesUnder(path)))
    else out.push(path)
  }
  return out
}

describe('MariaDB backups (mariabackup)', async () => {
  const manifest = await mariadb.discover()
  const version = manifest.versions[0]
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  let storeDir: string
  let location: BackupLocation
  let archive: ArchiveTarget
  let made = 1
  let full: StoredBackup
  let incremental: StoredBackup
  const dumps = new Map<string, string>()

  const newContext = (name: string): Promise<InstanceContext> => guest!.newContext(name, `00000000-0000-4000-8000-${String(++made).padStart(12, '0')}`)
  const query = <T extends mysql.RowDataPacket[]>(c: InstanceContext, sql: string, values: unknown[] = []) => withService(c, async (s) => (await s.query<T>(sql, values))[0])
  /** The client data of an instance as one text: every row of shop's tables, and the users. */
  const dump = async (c: InstanceContext): Promise<string> => {
    const orders = await query(c, 'SELECT id, item, MD5(blob_part) AS b, at FROM shop.orders ORDER BY id')
    const users = await query(c, "SELECT User, Host FROM mysql.user WHERE User NOT IN ('coffer_admin', 'mariadb.sys') ORDER BY User, Host")
    return JSON.stringify({ orders, users })
  }
  const stored = (id: string, out: BackupOutcome, dataKey: Buffer): StoredBackup => ({ backupId: id, prefix: `backups/${id}/`, objects: out.objects, dataKey, position: out.position, takenAt: out.takenAt })
  const takeBackup = async (id: string, parent?: StoredBackup, c: InstanceContext = ctx): Promise<StoredBackup> => {
    const dataKey = randomBytes(32)
    const out = await backups.backup(c, { backupId: id, location, prefix: `backups/${id}/`, dataKey, archive, ...(parent ? { parent } : {}) })
    return stored(id, out, dataKey)
  }
  const insert = (id: number, item: string) =>
    query(ctx, 'INSERT INTO shop.orders (id, item, blob_part, at) VALUES (?, ?, RANDOM_BYTES(64), NOW(6))', [id, item])
  /** Restores `chain` into a new instance and starts it; the caller stops it. */
  const restoreInto = async (name: string, chain: StoredBackup[], restoreTime?: Date): Promise<InstanceContext> => {
    const c = await newContext(name)
    const started = performance.now()
    await backups.restore(c, { location, chain, ...(restoreTime ? { restoreTime, archive } : {}) })
    const restored = performance.now() - started
    assert.equal((await engine.status(c)).state, 'stopped', 'restore leaves the engine stopped')
    await engine.start(c)
    assert.equal((await engine.status(c)).healthy, true)
    console.log(`# restore of ${chain.length} backup(s)${restoreTime ? ' to a time' : ''}: ${Math.round(restored)} ms`)
    return c
  }

  before(async () => {
    assert.ok(version, 'MariaDB is installed')
    guest = await makeGuestHome(mariadb, version, { label: 'mariadb-backup', instanceId: '00000000-0000-4000-8000-000000000001' })
    ctx = guest.ctx
    storeDir = await mkdtemp('/tmp/coffer-mariadb-backup-objects-')
    location = { store: new FsObjectStore(join(storeDir, 'objects')), settings: { kind: 'fs', root: join(storeDir, 'objects') } }
    archive = { location, prefix: `archives/${ctx.instanceId}/`, key: randomBytes(32), instanceId: ctx.instanceId }
    await engine.prepare(ctx, { databases: [{ name: 'shop' }], users: [{ name: 'alice', password: ALICE, databases: [{ name: 'shop' }] }] })
    await query(ctx, 'CREATE TABLE shop.orders (id int PRIMARY KEY, item varchar(64), blob_part varbinary(4096), at datetime(6))')
    // ~8 MB that does not compress, so a backup takes long enough to be stopped halfway.
    await query(ctx, `INSERT INTO shop.orders SELECT seq, CONCAT(?, seq), RANDOM_BYTES(1024), NOW(6) FROM shop.seq_1000_to_8999`, [MARKER])
    await archiving.enable(ctx, archive)
    // An incremental copies the pages changed since its parent's checkpoint: let InnoDB write one past the load first.
    await query(ctx, 'SET GLOBAL innodb_max_dirty_pages_pct = 0')
    for (let i = 0; i < 500 && Number((await query(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_checkpoint_age'"))[0]?.Value) > 64 * 1024; i++) await sleep(20)
    await query(ctx, 'SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT')
  })

  after(async () => {
    await guest?.cleanup()
    if (storeDir) await rm(storeDir, { recursive: true, force: true })
  })

  it('offers mariabackup with incrementals and point in time; binary logs are on', async () => {
    assert.equal(backups.strategy, 'mariabackup')
    assert.equal(backups.supportsIncremental, true)
    assert.equal(backups.supportsPointInTime, true)
    const [row] = await query(ctx, 'SELECT @@log_bin AS on_, @@binlog_format AS format, @@server_id AS id')
    assert.equal(Number(row?.on_), 1)
    assert.equal(row?.format, 'ROW')
    assert.ok(Number(row?.id) > 0)
  })

  it('takes a full backup while serving, then an incremental of what changed', async (t) => {
    await insert(1, 'coffee')
    let progress = 0
    const dataKey = randomBytes(32)
    const started = performance.now()
    const out = await backups.backup(ctx, { backupId: 'b-full', location, prefix: 'backups/b-full/', dataKey, archive, onProgress: (b) => (progress = b) })
    const ms = performance.now() - started
    t.diagnostic(`full backup: ${(out.dataBytes / 2 ** 20).toFixed(1)} MiB in ${Math.round(ms)} ms (${(out.dataBytes / 2 ** 20 / (ms / 1000)).toFixed(0)} MiB/s), stored ${(out.objects[0]!.size / 2 ** 20).toFixed(1)} MiB`)
    full = stored('b-full', out, dataKey)
    assert.deepEqual(out.objects.map((o) => o.key), ['backups/b-full/data.mbstream.zst.gcm'])
    assert.equal(progress, out.dataBytes)
    assert.ok(out.dataBytes > 8 * 2 ** 20, `${out.dataBytes} bytes`)
    assert.equal(out.position['backupType'], 'full-backuped')
    assert.match(out.position['toLsn'] ?? '', /^\d+$/)
    assert.match(out.position['binlogFile'] ?? '', /^binlog\.\d{6}$/)
    assert.match(out.position['binlogPosition'] ?? '', /^\d+$/)
    assert.ok(out.takenAt.getTime() <= Date.now() && out.takenAt.getTime() > Date.now() - ms - 1000)
    dumps.set('full', await dump(ctx))
    // The tool runs as root: it must leave nothing of root's in the engine's folders (console.log is the start's own, opened by Coffer).
    const rootOwned = []
    for (const f of await filesUnder(ctx.volumeDir)) if ((await stat(f)).uid !== ctx.account.uid && !f.includes('/no-files/') && !f.endsWith('/console.log')) rootOwned.push(f)
    assert.deepEqual(rootOwned, [])

    await insert(2, 'tea')
    await query(ctx, 'UPDATE shop.orders SET item = ? WHERE id = 1', ['espresso'])
    await query(ctx, 'CREATE USER bob IDENTIFIED BY ?', ['b0b-pass'])
    incremental = await takeBackup('b-inc', full)
    assert.equal(incremental.position['backupType'], 'incremental')
    assert.equal(incremental.position['fromLsn'], full.position['toLsn'])
    t.diagnostic(`incremental: stored ${(incremental.objects[0]!.size / 2 ** 20).toFixed(2)} MiB`)
    assert.ok(incremental.objects[0]!.size < full.objects[0]!.size / 2, 'an incremental stores only the changed pages')
    dumps.set('incremental', await dump(ctx))
    assert.notEqual(dumps.get('incremental'), dumps.get('full'))
  })

  it('restores the full backup and the chain into new instances with exactly their data and passwords', async () => {
    for (const [name, chain] of [['full', [full]], ['incremental', [full, incremental]]] as const) {
      const c = await restoreInto(`restored-${name}`, [...chain])
      try {
        assert.equal(await dump(c), dumps.get(name), `${name}: the same rows and users`)
        const alice = await mysql.createConnection({ host: '127.0.0.1', port: c.port, user: 'alice', password: ALICE, database: 'shop' })
        const [[count]] = await alice.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders')
        await alice.end()
        assert.equal(Number(count?.n), name === 'full' ? 8001 : 8002)
        await assert.rejects(mysql.createConnection({ host: '127.0.0.1', port: c.port, user: 'alice', password: 'wrong', database: 'shop' }), { code: 'ER_ACCESS_DENIED_ERROR' })
        assert.deepEqual(await backups.check(c), { databases: 1, tables: 1 })
        // Its own service password, not the source's; its own server_id.
        const own = JSON.parse(await readFile(join(c.guestDir, 'mariadb-service.json'), 'utf8')) as { password: string }
        const source = JSON.parse(await readFile(join(ctx.guestDir, 'mariadb-service.json'), 'utf8')) as { password: string }
        assert.notEqual(own.password, source.password)
        assert.notEqual((await query(c, 'SELECT @@server_id AS id'))[0]?.id, (await query(ctx, 'SELECT @@server_id AS id'))[0]?.id)
        assert.deepEqual((await readdir(c.volumeDir)).sort(), ['binlog', 'data', 'log', 'my.cnf', 'no-files', 'tmp'], 'no scratch left')
      } finally {
        await engine.stop(c)
      }
    }
  })

  it('restores to a point in time between two rows from the shipped binary logs', async (t) => {
    const base = await takeBackup('b-pitr', full)
    await insert(10, 'before')
    assert.ok(await archiving.ship(ctx, archive, { maxAgeSeconds: 0 }))
    await sleep(1100)
    const between = new Date()
    await sleep(1100)
    await insert(11, 'after')
    const shipped = await archiving.ship(ctx, archive, { maxAgeSeconds: 0 })
    assert.ok(shipped && shipped.getTime() >= Math.floor(between.getTime() / 1000) * 1000, 'the archive reaches past the time')
    // Nothing new: no rotation, the same time.
    assert.deepEqual(await archiving.ship(ctx, archive, { maxAgeSeconds: 0 }), shipped)
    const window = await archiving.window(archive, [full, base])
    assert.deepEqual(window.earliest, full.takenAt)
    assert.deepEqual(window.latest, shipped)

    const started = performance.now()
    const c = await restoreInto('restored-pitr', [full, base], between)
    t.diagnostic(`point-in-time restore + start: ${Math.round(performance.now() - started)} ms`)
    try {
      const ids = (await query(c, 'SELECT id FROM shop.orders WHERE id IN (10, 11) ORDER BY id')).map((r) => r.id)
      assert.deepEqual(ids, [10], 'the row before the time, not the one after')
      assert.equal(Number((await query(c, 'SELECT COUNT(*) AS n FROM shop.orders'))[0]?.n), 8003)
      assert.deepEqual(await backups.check(c), { databases: 1, tables: 1 })
    } finally {
      await engine.stop(c)
    }
    // A time past the archive is refused before anything is laid down.
    const late = await newContext('restored-late')
    await assert.rejects(backups.restore(late, { location, chain: [full, base], restoreTime: new Date(Date.now() + 60_000), archive }), /not restorable yet/)
    assert.deepEqual(await readdir(late.volumeDir), [])
  })

  it('refuses a tampered object, naming the backup, and leaves the volume empty', async () => {
    const file = join(storeDir, 'objects', ...full.objects[0]!.key.split('/'))
    const original = await readFile(file)
    const bad = Buffer.from(original)
    bad[Math.floor(bad.length / 2)]! ^= 0x01
    await writeFile(file, bad)
    try {
      const c = await newContext('restored-tampered')
      await assert.rejects(backups.restore(c, { location, chain: [full] }), (err: { code?: string; message?: string }) => {
        assert.equal(err.code, 'OBJECT_CORRUPT')
        assert.match(err.message ?? '', /b-full/)
        return true
      })
      assert.deepEqual(await readdir(c.volumeDir), [])
      assert.deepEqual(await processesNaming(c.volumeDir), [])
    } finally {
      await writeFile(file, original)
    }
  })

  it('stops a backup halfway (abort, then SIGKILL of the tool) leaving no object and the engine serving', async () => {
    const aborts = new AbortController()
    const abortable = { ...ctx, signal: aborts.signal }
    await assert.rejects(backups.backup(abortable, { backupId: 'b-abort', location, prefix: 'backups/b-abort/', dataKey: randomBytes(32), onProgress: () => aborts.abort() }))
    let killed = 0
    const kill = async () => {
      for (const pid of await processesNaming(ctx.guestDir)) {
        if ((await procStat(pid))?.comm === 'mariadb-backup' && !killed) (killed = pid), process.kill(pid, 'SIGKILL')
      }
    }
    await assert.rejects(backups.backup(ctx, { backupId: 'b-kill', location, prefix: 'backups/b-kill/', dataKey: randomBytes(32), onProgress: () => void kill() }), /mariadb-backup/)
    assert.ok(killed > 0, 'the tool was killed mid-stream')
    for (const prefix of ['backups/b-abort/', 'backups/b-kill/']) {
      const left = []
      for await (const o of listAll(location.store, prefix)) left.push(o.key)
      assert.deepEqual(left, [], prefix)
    }
    assert.deepEqual(await processesNaming(ctx.guestDir), [], 'no tool left running')
    assert.deepEqual((await readdir(ctx.guestDir)).filter((n) => n.startsWith('mariadb-tool-')), [], 'no scratch folder left')
    assert.equal((await engine.status(ctx)).healthy, true)
    // And the next backup works.
    assert.ok((await takeBackup('b-after')).objects[0]!.size > 0)
  })

  it('stores no plain text: no row, no name, no password', async () => {
    const files = await filesUnder(join(storeDir, 'objects'))
    assert.ok(files.some((f) => f.includes('binlog')), 'binary logs were shipped')
    for (const f of files) {
      const bytes = await readFile(f)
      for (const needle of [MARKER, 'espresso', ALICE, 'b0b-pass', 'orders']) assert.equal(bytes.includes(needle), false, `${needle} in ${f}`)
    }
  })

  it('removes the archive', async () => {
    await archiving.remove(archive)
    const left = []
    for await (const o of listAll(location.store, archive.prefix)) left.push(o.key)
    assert.deepEqual(left, [])
  })
})
