/**
 * The MariaDB guest against a real MariaDB 10.11: template, prepare (twice), a user's real
 * connection over TCP, each hardening item, users, hostile names, root, stop and start. Runs the
 * engine as the `mysql` account when the test runs as root. Figures go to diagnostics.
 */
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import * as mysql from 'mysql2/promise'
import { pssKb } from '../src/guest/datastores/common/memory.js'
import { runningAsRoot } from '../src/guest/datastores/common/os-account.js'
import { isAlive } from '../src/guest/datastores/common/process.js'
import type { InstanceContext, PrepareSpec } from '../src/guest/datastores/datastore.js'
import { mariadb, mariadbServer } from '../src/guest/datastores/mariadb/index.js'
import { instancePaths } from '../src/guest/datastores/mariadb/manager.js'
import { withService } from '../src/guest/datastores/mariadb/service-account.js'
import { ensureTemplate } from '../src/guest/datastores/mariadb/template.js'
import { mysql as mysqlDatastore } from '../src/guest/datastores/mysql/index.js'
import { foreignListener, portInUseFailure } from './helpers/foreign-listener.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const ALICE = "it's-Sup3r secret"
const spec: PrepareSpec = {
  databases: [{ name: 'shop' }, { name: 'other_db' }, { name: 'shop_db' }, { name: 'shopXdb' }],
  users: [{ name: 'alice', password: ALICE, databases: [{ name: 'shop' }, { name: 'shop_db' }] }],
}
const engine = mariadb.engine
const databases = mariadb.databases!
const users = mariadb.users!
const root = mariadb.root!

describe('MariaDB guest', async () => {
  const manifest = await mariadb.discover()
  const version = manifest.versions[0]
  let guest: GuestHome | undefined
  let made = 1
  let ctx: InstanceContext

  const newContext = (name: string): Promise<InstanceContext> => {
    assert.ok(guest)
    return guest.newContext(name, `00000000-0000-4000-8000-${String(++made).padStart(12, '0')}`)
  }
  const connect = (user: string, password: string, database?: string, port = ctx.port) =>
    mysql.createConnection({ host: '127.0.0.1', port, user, password, ...(database ? { database } : {}), connectTimeout: 5000 })
  const as = async <T>(user: string, password: string, database: string | undefined, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await connect(user, password, database)
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }
  const rows = async (c: mysql.Connection, sql: string, values: unknown[] = []) => (await c.query<mysql.RowDataPacket[]>(sql, values))[0]
  const service = <T>(fn: (c: mysql.Connection) => Promise<T>) => withService(ctx, fn)

  before(async () => {
    assert.ok(version, `MariaDB is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(mariadb, version, { label: 'mariadb', instanceId: '00000000-0000-4000-8000-000000000001' })
    ctx = guest.ctx
  })

  // Whatever failed above, leave no engine behind.
  after(() => guest?.cleanup())

  it('offers MariaDB 10.11 with users, databases and root; no MySQL on a MariaDB node', async () => {
    assert.equal(version?.name, '10.11')
    assert.match(version?.versionNumber ?? '', /^10\.11\.\d+$/)
    assert.equal(manifest.defaultPort, 3306)
    assert.equal(manifest.userHosts, true)
    assert.deepEqual(
      Object.entries(manifest.capabilities).filter(([, on]) => on).map(([k]) => k),
      ['provisioning', 'databases', 'users', 'root', 'configuration', 'backup', 'incremental_backup', 'point_in_time_restore', 'replication'],
    )
    const mysqlManifest = await mysqlDatastore.discover()
    assert.deepEqual(mysqlManifest.versions, [], '/usr/sbin/mysqld here is MariaDB, not MySQL')
  })

  it('builds the node template once', async (t) => {
    const started = performance.now()
    const template = await ensureTemplate(ctx.cacheDir, mariadbServer, ctx.version, ctx.nodeAccount)
    t.diagnostic(`template build (mariadb-install-db + hardening): ${Math.round(performance.now() - started)} ms`)
    assert.equal(template.uid, ctx.account.uid)
    assert.equal(await ensureTemplate(ctx.cacheDir, mariadbServer, ctx.version, ctx.nodeAccount), template, 'memoised')
    assert.deepEqual((await readdir(ctx.cacheDir)).sort(), ['mariadb-10.11'])
  })

  it('prepares an instance that a user can reach over TCP with a password', async (t) => {
    const started = performance.now()
    await engine.prepare(ctx, spec)
    t.diagnostic(`prepare (copy + start + secure + 4 dbs + 1 user): ${Math.round(performance.now() - started)} ms`)
    await as('alice', ALICE, 'shop', async (c) => {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item varchar(20))')
      await c.query('INSERT INTO orders VALUES (?, ?)', [1, 'coffee'])
      assert.deepEqual(await rows(c, 'SELECT item FROM orders'), [{ item: 'coffee' }])
      const grants = (await rows(c, 'SHOW GRANTS')).map((r) => Object.values(r)[0] as string)
      assert.equal(grants.length, 3, grants.join('\n'))
      assert.match(grants[0] ?? '', /^GRANT USAGE ON \*\.\* TO `alice`@`%`/)
      assert.ok(grants.every((g) => !/WITH GRANT OPTION/.test(g)), 'no GRANT OPTION')
    })
  })

  it('refuses wrong passwords, other databases, wildcard neighbours and the service account over TCP', async () => {
    await assert.rejects(connect('alice', 'wrong', 'shop'), { code: 'ER_ACCESS_DENIED_ERROR' })
    await assert.rejects(connect('alice', ALICE, 'other_db'), { code: 'ER_DBACCESS_DENIED_ERROR' })
    await assert.rejects(connect('alice', ALICE, 'mysql'), { code: 'ER_DBACCESS_DENIED_ERROR' })
    // A grant on shop_db must not open shopXdb: `_` is a wildcard in GRANT.
    await as('alice', ALICE, 'shop_db', (c) => c.query('CREATE TABLE t (i int)'))
    await assert.rejects(connect('alice', ALICE, 'shopXdb'), { code: 'ER_DBACCESS_DENIED_ERROR' })
    const secret = JSON.parse(await readFile(join(ctx.guestDir, 'mariadb-service.json'), 'utf8')) as { password: string }
    await assert.rejects(connect('coffer_admin', secret.password), { code: 'ER_ACCESS_DENIED_ERROR' })
  })

  it('is hardened: no anonymous users, no test database, root only at localhost and locked', async () => {
    await service(async (c) => {
      assert.deepEqual(await rows(c, "SELECT Host AS host FROM mysql.user WHERE User = ''"), [])
      assert.deepEqual(await rows(c, "SELECT Host AS host FROM mysql.user WHERE User = 'root'"), [{ host: 'localhost' }])
      const [created] = await rows(c, "SHOW CREATE USER 'root'@'localhost'")
      assert.match(Object.values(created ?? {})[0] as string, /ACCOUNT LOCK/)
      assert.deepEqual(await rows(c, "SELECT Db FROM mysql.db WHERE Db LIKE 'test%' OR User = ''"), [])
      assert.ok(!(await rows(c, 'SHOW DATABASES')).some((r) => r.Database === 'test'))
    })
    await assert.rejects(connect('', ''), { code: 'ER_ACCESS_DENIED_ERROR' })
    await assert.rejects(connect('root', ''), { code: 'ER_ACCESS_DENIED_ERROR' })
    // The template's blank root password was replaced before the template ever listened; no file holds root's.
    for (const f of await readdir(ctx.guestDir)) assert.doesNotMatch(await readFile(join(ctx.guestDir, f), 'utf8'), /root/)
  })

  it('is hardened: local_infile, secure_file_priv, skip-name-resolve, InnoDB only, no symlinks', async () => {
    const dead = instancePaths(ctx).noFilesDir
    await service(async (c) => {
      const [v] = await rows(c, `SELECT @@local_infile AS local_infile, @@secure_file_priv AS secure_file_priv, @@skip_name_resolve AS skip_name_resolve,
        @@default_storage_engine AS default_engine, @@enforce_storage_engine AS enforce_engine, @@have_symlink AS have_symlink, @@socket AS socket`)
      assert.deepEqual(v, {
        local_infile: '0', secure_file_priv: `${dead}/`, skip_name_resolve: '1',
        default_engine: 'InnoDB', enforce_engine: 'InnoDB', have_symlink: 'DISABLED', socket: join(ctx.runDir, 'mysqld.sock'),
      })
    })
    const st = await stat(dead)
    assert.equal(st.mode & 0o777, 0o555)
    assert.equal(st.uid, runningAsRoot() ? 0 : process.getuid?.())
    assert.deepEqual(await readdir(dead), [])
    assert.equal((await stat(ctx.runDir)).mode & 0o777, 0o700)
    // The client offers LOCAL INFILE (the flag, a file to send); the server refuses it (ER_LOAD_INFILE_CAPABILITY_DISABLED).
    const local = await mysql.createConnection({ host: '127.0.0.1', port: ctx.port, user: 'alice', password: ALICE, database: 'shop', flags: ['+LOCAL_FILES'] })
    await assert.rejects(local.query({ sql: "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE orders", infileStreamFactory: () => createReadStream('/etc/hostname') }), { errno: 4166 })
    await local.end()
    await as('alice', ALICE, 'shop', async (c) => {
      await assert.rejects(c.query('CREATE TABLE m (i int) ENGINE=MyISAM'), { code: 'ER_OPTION_PREVENTS_STATEMENT' })
      await c.query("SET SESSION sql_mode = ''") // without NO_ENGINE_SUBSTITUTION the engine is replaced, not obeyed
      await c.query('CREATE TABLE m (i int) ENGINE=MyISAM')
      await c.query('ALTER TABLE m ENGINE=MEMORY')
      assert.deepEqual(await rows(c, "SELECT ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'm'"), [{ e: 'InnoDB' }])
      await c.query('DROP TABLE m')
      await assert.rejects(c.query("SELECT LOAD_FILE('/etc/passwd') INTO OUTFILE '/tmp/x'"), { code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' })
    })
  })

  it('keeps secrets private and the service password the instance\'s own; resumes a cut-short rotation', async () => {
    const file = join(ctx.guestDir, 'mariadb-service.json')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const template = await ensureTemplate(ctx.cacheDir, mariadbServer, ctx.version, ctx.nodeAccount)
    assert.notEqual(JSON.parse(await readFile(file, 'utf8')).password, template.password)
    const setPassword = (pw: string) => service((c) => c.query("ALTER USER 'coffer_admin'@'localhost' IDENTIFIED BY ?", [pw]))
    // Cut short before ALTER USER: the engine still has the template's password, "pending" is saved.
    await setPassword(template.password)
    await writeFile(file, JSON.stringify({ pending: 'pending-before-alter' }))
    await engine.prepare(ctx, spec)
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { password: 'pending-before-alter' })
    // Cut short after ALTER USER: the engine has the pending password, not yet confirmed.
    await setPassword('pending-after-alter')
    await writeFile(file, JSON.stringify({ password: 'pending-before-alter', pending: 'pending-after-alter' }))
    await engine.prepare(ctx, spec)
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { password: 'pending-after-alter' })
    assert.equal((await engine.status(ctx)).healthy, true)
  })

  it('prepares again without error or duplicates', async () => {
    await engine.prepare(ctx, spec)
    assert.deepEqual((await databases.list(ctx)).map((d) => d.name), ['other_db', 'shop', 'shopXdb', 'shop_db'])
    assert.deepEqual(await users.list(ctx), [{ name: 'alice', host: '%', databases: [{ name: 'shop' }, { name: 'shop_db' }] }])
    assert.deepEqual(await as('alice', ALICE, 'shop', (c) => rows(c, 'SELECT count(*) AS n FROM orders')), [{ n: 1 }])
  })

  it('renames, re-passwords, moves, grants, revokes and deletes users', async () => {
    await users.create(ctx, [{ name: 'bob', password: 'pässwörd-ü', databases: [{ name: 'other_db' }] }])
    await as('bob', 'pässwörd-ü', 'other_db', (c) => c.query('CREATE TABLE notes (t text)'))
    await users.update(ctx, { name: 'bob' }, { name: 'robert', password: 'n3w pass' })
    await users.update(ctx, { name: 'bob' }, { name: 'robert', password: 'n3w pass' }) // again: already done
    await assert.rejects(connect('bob', 'pässwörd-ü', 'other_db'), { code: 'ER_ACCESS_DENIED_ERROR' })
    await assert.rejects(connect('robert', 'pässwörd-ü', 'other_db'), { code: 'ER_ACCESS_DENIED_ERROR' })
    await as('robert', 'n3w pass', 'other_db', (c) => c.query('SELECT * FROM notes'))
    await users.update(ctx, { name: 'robert' }, { host: '127.0.0.1' })
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'robert'), { name: 'robert', host: '127.0.0.1', databases: [{ name: 'other_db' }] })
    await assert.rejects(users.update(ctx, { name: 'robert' }, { password: 'x' }), /does not exist/) // robert@% is gone
    await assert.rejects(users.update(ctx, { name: 'robert', host: '127.0.0.1' }, { name: 'alice', host: '%' }), /already exists/)
    const robert = { name: 'robert', host: '127.0.0.1' }
    await users.grant(ctx, robert, ['shop'])
    await users.grant(ctx, robert, ['shop'])
    const open = await connect('robert', 'n3w pass', 'shop')
    assert.deepEqual(await rows(open, 'SELECT item FROM orders'), [{ item: 'coffee' }])
    await users.revoke(ctx, robert, 'shop')
    await users.revoke(ctx, robert, 'shop') // idempotent
    await assert.rejects(connect('robert', 'n3w pass', 'shop'), { code: 'ER_DBACCESS_DENIED_ERROR' })
    await assert.rejects(rows(open, 'SELECT item FROM orders'), 'a session using the revoked database was ended')
    open.destroy()
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'robert')?.databases, [{ name: 'other_db' }])
    await users.delete(ctx, robert)
    await users.delete(ctx, robert) // already gone
    await assert.rejects(connect('robert', 'n3w pass', 'other_db'), { code: 'ER_ACCESS_DENIED_ERROR' })
    assert.deepEqual((await users.list(ctx)).map((u) => u.name), ['alice'])
    await assert.rejects(users.delete(ctx, { name: 'coffer_admin', host: 'localhost' }), /reserved/)
    await assert.rejects(users.create(ctx, [{ name: 'Root', password: 'x', databases: [] }]), /reserved/)
  })

  it('takes hostile names literally: quotes, backticks, comments, wildcards, unicode', async () => {
    const names = ["it's \"quoted\"", 'back`tick', "a'; DROP DATABASE shop; --", 'x`; DROP DATABASE shop; --', 'dåtå-数据', 'pct%_x', 'back\\slash']
    await databases.create(ctx, names.map((name) => ({ name, character_set: 'utf8mb4', collate: 'utf8mb4_bin' })))
    await databases.create(ctx, names.map((name) => ({ name }))) // again: no-op
    const listed = await databases.list(ctx)
    for (const name of names) assert.deepEqual(listed.find((d) => d.name === name), { name, character_set: 'utf8mb4', collate: 'utf8mb4_bin' })
    const hostileUsers = ["o'brien", "x`@'%'; DROP USER alice; --", '用户\\', "b'@'%' IDENTIFIED BY 'x"]
    await users.create(ctx, hostileUsers.map((name, i) => ({ name, password: `pw'${i}\\"--`, databases: [{ name: names[i]! }] })))
    for (const [i, name] of hostileUsers.entries()) {
      await as(name, `pw'${i}\\"--`, names[i], async (c) => {
        await c.query('CREATE TABLE t (v varchar(10))')
        await assert.rejects(c.query(`USE ${mysql.escapeId('shop', true)}`), { code: 'ER_DBACCESS_DENIED_ERROR' })
      })
    }
    // pct%_x is granted to nobody: its `%` and `_` must not have matched anything else either.
    const granted = (await users.list(ctx)).filter((u) => hostileUsers.includes(u.name))
    assert.deepEqual(new Map(granted.map((u) => [u.name, u.databases])), new Map(hostileUsers.map((name, i) => [name, [{ name: names[i] }]])))
    for (const name of hostileUsers) await users.delete(ctx, { name })
    for (const name of names) await databases.delete(ctx, name)
    assert.deepEqual((await databases.list(ctx)).map((d) => d.name), ['other_db', 'shop', 'shopXdb', 'shop_db'])
    assert.deepEqual((await users.list(ctx)).map((u) => u.name), ['alice'])
  })

  it('deletes a database with its grants, so a new one of the same name is not opened to old users', async () => {
    await databases.create(ctx, [{ name: 'tmp_db' }])
    await users.grant(ctx, { name: 'alice' }, ['tmp_db'])
    await databases.delete(ctx, 'tmp_db')
    await databases.delete(ctx, 'tmp_db')
    await databases.create(ctx, [{ name: 'tmp_db' }])
    await assert.rejects(connect('alice', ALICE, 'tmp_db'), { code: 'ER_DBACCESS_DENIED_ERROR' })
    await databases.delete(ctx, 'tmp_db')
    await assert.rejects(users.grant(ctx, { name: 'alice' }, ['nope']), /does not exist/)
    await assert.rejects(databases.delete(ctx, 'mysql'), /reserved/)
    await assert.rejects(users.grant(ctx, { name: 'alice' }, ['mysql']), /reserved/)
    await assert.rejects(users.create(ctx, [{ name: 'eve', password: 'x', host: '', databases: [] }]), /needs a host/)
  })

  it('fits every name the manifest allows in a file name: 64 characters with 47 hyphens', async () => {
    const valid = (name: string) => new RegExp(`^(?:${manifest.names.pattern})$`, 'u').test(name) && name.length <= manifest.names.maxLength
    const longest = `a${'-'.repeat(47)}${'b'.repeat(16)}`
    assert.equal(longest.length, 64)
    assert.ok(valid(longest))
    assert.ok(!valid(`a${'-'.repeat(48)}${'b'.repeat(15)}`))
    assert.ok(!valid("a'b") && !valid('a`b') && !valid('数据') && !valid('1abc') && valid('_a-1'))
    await databases.create(ctx, [{ name: longest }])
    assert.ok((await databases.list(ctx)).some((d) => d.name === longest))
    await databases.delete(ctx, longest)
  })

  it('enables root as a superuser over TCP, resets it, and disables it', async () => {
    assert.deepEqual(await root.enable(ctx, "r00t'pw"), { name: 'root' })
    const session = await connect('root', "r00t'pw")
    const grants = (await rows(session, 'SHOW GRANTS')).map((r) => Object.values(r)[0] as string)
    // Every privilege but READ_ONLY ADMIN, which would let root write on a read-only replica.
    assert.match(grants[0] ?? '', /^GRANT SELECT, INSERT, .*SUPER, .*REPLICATION MASTER ADMIN, .* ON \*\.\* TO `root`@`%` .*WITH GRANT OPTION$/)
    assert.doesNotMatch(grants[0] ?? '', /READ_ONLY ADMIN|ALL PRIVILEGES/)
    await session.query('CREATE DATABASE made_by_root')
    // Even root cannot read or write files outside the dead folder, nor inside it.
    assert.deepEqual(await rows(session, "SELECT LOAD_FILE('/etc/passwd') AS f"), [{ f: null }])
    await assert.rejects(session.query(`SELECT 1 INTO OUTFILE '${instancePaths(ctx).noFilesDir}/x'`), /Permission denied|Can't create/)
    await assert.rejects(session.query("SELECT 1 INTO OUTFILE '/tmp/coffer-x'"), { code: 'ER_OPTION_PREVENTS_STATEMENT' })
    // Root may change how the server reads quotes for everyone; the guest's own sessions are not fooled.
    await session.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'")
    const sly = "sly\\'; DROP DATABASE shop; --"
    await users.create(ctx, [{ name: sly, password: "p\\'w", databases: [{ name: 'shop' }] }])
    await as(sly, "p\\'w", 'shop', (c) => rows(c, 'SELECT 1'))
    await users.delete(ctx, { name: sly })
    await session.query("SET GLOBAL sql_mode = DEFAULT")
    assert.ok((await databases.list(ctx)).some((d) => d.name === 'shop'))
    await root.enable(ctx, 'second')
    await assert.rejects(connect('root', "r00t'pw"), { code: 'ER_ACCESS_DENIED_ERROR' })
    await as('root', 'second', undefined, (c) => c.query('DROP DATABASE made_by_root'))
    assert.ok(!(await users.list(ctx)).some((u) => u.name === 'root'), 'root is not a client user')
    await root.disable(ctx)
    await root.disable(ctx)
    await assert.rejects(connect('root', 'second'), { code: 'ER_ACCESS_DENIED_ERROR' })
    await assert.rejects(rows(session, 'SELECT 1'), 'the old root session was ended')
    session.destroy()
    await service(async (c) => assert.deepEqual(await rows(c, "SELECT Host AS host FROM mysql.user WHERE User = 'root'"), [{ host: 'localhost' }]))
  })

  it('stops, reports stopped, starts again and is healthy', async (t) => {
    const before = await engine.status(ctx)
    assert.equal(before.healthy, true, JSON.stringify(before))
    let started = performance.now()
    await engine.stop(ctx)
    t.diagnostic(`stop: ${Math.round(performance.now() - started)} ms`)
    assert.equal(before.pid !== undefined && (await isAlive(before.pid)), false)
    assert.deepEqual(await engine.status(ctx), { state: 'stopped', healthy: false })
    await engine.stop(ctx) // no-op
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(ctx.port, '127.0.0.1', resolve))
    try {
      await assert.rejects(engine.start(ctx), portInUseFailure(ctx.port, /Can't start server: Bind on TCP\/IP port.*Address already in use/))
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
    started = performance.now()
    await engine.start(ctx)
    t.diagnostic(`start: ${Math.round(performance.now() - started)} ms`)
    await engine.start(ctx) // no-op
    const s = await engine.status(ctx)
    assert.equal(s.state, 'running')
    assert.equal(s.healthy, true)
    assert.deepEqual(await as('alice', ALICE, 'shop', (c) => rows(c, 'SELECT item FROM orders')), [{ item: 'coffee' }])
  })

  it('is not healthy when what answers on its port is another process', async () => {
    // The server answers its own login on its private socket, but the port leads elsewhere.
    const foreign = await foreignListener()
    try {
      const s = await engine.status({ ...ctx, port: foreign.port })
      assert.equal(s.healthy, false, JSON.stringify(s))
      assert.match(s.detail ?? '', new RegExp(`port ${foreign.port} is not held by this instance's engine`))
    } finally {
      await foreign.close()
    }
    assert.equal((await engine.status(ctx)).healthy, true)
  })

  it('runs with the tuned configuration', async () => {
    const conf = engine.effectiveConfiguration(ctx)
    assert.equal(conf.innodb_buffer_pool_size, '256M')
    assert.equal(conf.max_connections, '100')
    assert.equal(conf.port, ctx.port)
    await service(async (c) => {
      const [v] = await rows(c, 'SELECT @@innodb_buffer_pool_size AS pool, @@innodb_log_file_size AS log, @@max_connections AS conns, @@tmp_table_size AS tmp')
      assert.deepEqual(v, { pool: String(256 * 2 ** 20), log: String(16 * 2 ** 20), conns: '100', tmp: String(16 * 2 ** 20) })
    })
  })

  it('measures prepare, idle memory and stop on fresh instances', async (t) => {
    const times: number[] = []
    const small: PrepareSpec = { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'app-pw', databases: [{ name: 'app' }] }] }
    const extra: InstanceContext[] = []
    for (let i = 0; i < 5; i++) {
      const c = await newContext(`bench-${i}`)
      extra.push(c)
      const started = performance.now()
      await engine.prepare(c, small)
      times.push(performance.now() - started)
    }
    t.diagnostic(`prepare (copy + start + secure + 1 db + 1 user), 5 runs: median ${Math.round(median(times))} ms, all ${times.map(Math.round).join(', ')}`)
    await engine.stop(ctx)
    await sleep(1000) // idle, not just started
    const pss = async (c: InstanceContext) => ((await pssKb((await engine.status(c)).pid!)) ?? NaN) / 1024
    t.diagnostic(`idle PSS with 5 instances running (512 MB flavor): median ${Math.round(median(await Promise.all(extra.map(pss))))} MB`)
    for (const c of extra.slice(1)) await engine.stop(c)
    t.diagnostic(`idle PSS of one instance running alone: ${Math.round(await pss(extra[0]!))} MB`)
    for (const c of extra) {
      await engine.stop(c)
      assert.equal((await engine.status(c)).state, 'stopped')
    }
  })

  it('stops for good', async () => {
    await engine.stop(ctx)
    assert.equal((await engine.status(ctx)).state, 'stopped')
  })
})
