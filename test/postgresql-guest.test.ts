/**
 * The PostgreSQL guest against a real PostgreSQL 15: template, prepare (twice), a user's real
 * connection over TCP, hardening, stop and start, databases and users. Runs the engine as the
 * `postgres` account when the test runs as root.
 */
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { isAlive } from '../src/guest/datastores/common/process.js'
import type { InstanceContext, PrepareSpec } from '../src/guest/datastores/datastore.js'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { dataDir } from '../src/guest/datastores/postgresql/manager.js'
import { withService } from '../src/guest/datastores/postgresql/service-account.js'
import { ensureTemplate } from '../src/guest/datastores/postgresql/template.js'
import { foreignListener, portInUseFailure } from './helpers/foreign-listener.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const spec: PrepareSpec = {
  databases: [{ name: 'shop' }, { name: 'other-db' }],
  users: [{ name: 'alice', password: "it's-Sup3r secret", databases: [{ name: 'shop' }] }],
}

describe('PostgreSQL guest', async () => {
  const manifest = await postgresql.discover()
  const version = manifest.versions.find((v) => v.name === '15')
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  const connect = (user: string, password: string, database: string): pg.Client => {
    const c = new pg.Client({ host: '127.0.0.1', port: ctx.port, user, password, database, connectionTimeoutMillis: 5000 })
    c.on('error', () => undefined)
    return c
  }
  const asAlice = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = connect('alice', "it's-Sup3r secret", 'shop')
    await c.connect()
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }

  before(async () => {
    assert.ok(version, `PostgreSQL 15 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(postgresql, version, { label: 'pg', instanceId: '00000000-0000-4000-8000-000000000001', stopSignal: 'SIGQUIT' })
    ctx = guest.ctx
  })

  // Whatever failed above, leave no engine behind.
  after(() => guest?.cleanup())

  it('offers version 15 with databases, users, root and configuration', () => {
    assert.match(version?.versionNumber ?? '', /^15\.\d+$/)
    assert.equal(manifest.capabilities.databases, true)
    assert.equal(manifest.capabilities.users, true)
    assert.equal(manifest.capabilities.root, true)
    assert.equal(manifest.capabilities.configuration, true)
  })

  it('builds the node template once', async (t) => {
    const started = performance.now()
    const template = await ensureTemplate(ctx.cacheDir, ctx.version, ctx.account)
    t.diagnostic(`ensureTemplate (first): ${Math.round(performance.now() - started)} ms`)
    assert.equal(template.uid, ctx.account.uid)
    assert.equal(await ensureTemplate(ctx.cacheDir, ctx.version, ctx.account), template, 'memoised')
  })

  it('prepares an instance that a user can reach over TCP with a password', async (t) => {
    const started = performance.now()
    await postgresql.engine.prepare(ctx, spec)
    t.diagnostic(`prepare (copy + start + secure + 2 dbs + 1 user): ${Math.round(performance.now() - started)} ms`)
    await asAlice(async (c) => {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)')
      await c.query('INSERT INTO orders VALUES ($1, $2)', [1, 'coffee'])
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'coffee' }])
      const me = (await c.query('SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = session_user')).rows[0]
      assert.deepEqual(me, { rolsuper: false, rolcreaterole: false, rolcreatedb: false })
      assert.equal((await c.query('SHOW password_encryption')).rows[0].password_encryption, 'scram-sha-256')
    })
  })

  it('refuses wrong passwords, other databases and the service account over TCP', async () => {
    await assert.rejects(connect('alice', 'wrong', 'shop').connect(), /password authentication failed/)
    await assert.rejects(connect('alice', "it's-Sup3r secret", 'other-db').connect(), /permission denied/)
    await assert.rejects(connect('alice', "it's-Sup3r secret", 'postgres').connect(), /permission denied/)
    await assert.rejects(connect('coffer_admin', 'anything', 'postgres').connect(), /rejects connection/)
    const hba = await readFile(join(dataDir(ctx), 'pg_hba.conf'), 'utf8')
    assert.doesNotMatch(hba.replace(/#.*$/gm, ''), /\b(trust|peer|ident|password|md5)\b/)
  })

  it('keeps secrets private and the service password the instance\'s own', async () => {
    const secret = join(ctx.guestDir, 'postgresql-service.json')
    const { password } = JSON.parse(await readFile(secret, 'utf8'))
    const template = await ensureTemplate(ctx.cacheDir, ctx.version, ctx.account)
    assert.notEqual(password, template.password)
    assert.equal((await stat(secret)).mode & 0o777, 0o600)
  })

  it('resumes a service password change cut short before or after ALTER ROLE', async () => {
    const secretFile = join(ctx.guestDir, 'postgresql-service.json')
    const template = await ensureTemplate(ctx.cacheDir, ctx.version, ctx.account)
    // Cut short before ALTER: the engine still has the template's password, "pending" is saved.
    await withService(ctx, (c) => c.query(`ALTER ROLE coffer_admin PASSWORD ${c.escapeLiteral(template.password)}`))
    await writeFile(secretFile, JSON.stringify({ pending: 'pending-before-alter' }))
    await postgresql.engine.prepare(ctx, spec)
    assert.deepEqual(JSON.parse(await readFile(secretFile, 'utf8')), { password: 'pending-before-alter' })
    assert.equal((await postgresql.engine.status(ctx)).healthy, true)
    // Cut short after ALTER: the engine has the pending password, not yet confirmed.
    await withService(ctx, (c) => c.query(`ALTER ROLE coffer_admin PASSWORD 'pending-after-alter'`))
    await writeFile(secretFile, JSON.stringify({ password: 'pending-before-alter', pending: 'pending-after-alter' }))
    await postgresql.engine.prepare(ctx, spec)
    assert.deepEqual(JSON.parse(await readFile(secretFile, 'utf8')), { password: 'pending-after-alter' })
    assert.equal((await postgresql.engine.status(ctx)).healthy, true)
  })

  it('prepares again without error or duplicates', async () => {
    await postgresql.engine.prepare(ctx, spec)
    assert.deepEqual((await postgresql.databases?.list(ctx))?.map((d) => d.name), ['other-db', 'shop'])
    assert.deepEqual(await postgresql.users?.list(ctx), [{ name: 'alice', databases: [{ name: 'shop' }] }])
    assert.deepEqual(await asAlice((c) => c.query('SELECT count(*)::int AS n FROM orders').then((r) => r.rows)), [{ n: 1 }])
  })

  it('stops, reports stopped, starts again and is healthy', async (t) => {
    const before = await postgresql.engine.status(ctx)
    assert.equal(before.healthy, true, JSON.stringify(before))
    let started = performance.now()
    await postgresql.engine.stop(ctx)
    t.diagnostic(`stop: ${Math.round(performance.now() - started)} ms`)
    assert.equal(before.pid !== undefined && (await isAlive(before.pid)), false)
    assert.deepEqual(await postgresql.engine.status(ctx), { state: 'stopped', healthy: false })
    await postgresql.engine.stop(ctx) // no-op
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(ctx.port, '127.0.0.1', resolve))
    try {
      await assert.rejects(postgresql.engine.start(ctx), portInUseFailure(ctx.port, /could not bind IPv4 address .*Address already in use/))
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
    started = performance.now()
    await postgresql.engine.start(ctx)
    t.diagnostic(`start: ${Math.round(performance.now() - started)} ms`)
    await postgresql.engine.start(ctx) // no-op
    const s = await postgresql.engine.status(ctx)
    assert.equal(s.state, 'running')
    assert.equal(s.healthy, true)
    assert.deepEqual(await asAlice((c) => c.query('SELECT item FROM orders').then((r) => r.rows)), [{ item: 'coffee' }])
  })

  it('is not healthy when what answers on its port is another process', async () => {
    // The login goes through the socket named for the port, which no postmaster of this instance made.
    const foreign = await foreignListener()
    try {
      const s = await postgresql.engine.status({ ...ctx, port: foreign.port })
      assert.equal(s.healthy, false, JSON.stringify(s))
    } finally {
      await foreign.close()
    }
    assert.equal((await postgresql.engine.status(ctx)).healthy, true)
  })

  it('creates and deletes users and databases, keeping what a deleted user made with the database', async () => {
    await postgresql.databases?.create(ctx, [{ name: 'Mixed-Case', character_set: 'UTF8', collate: 'C' }])
    await postgresql.users?.create(ctx, [{ name: 'bob', password: 'pässwörd-ü', databases: [{ name: 'Mixed-Case' }, { name: 'shop' }] }])
    const bob = connect('bob', 'pässwörd-ü', 'Mixed-Case')
    await bob.connect()
    await bob.query('CREATE TABLE notes (t text)')
    await bob.end()
    await postgresql.users?.delete(ctx, { name: 'bob' })
    const owner = await withService(ctx, (c) => c.query("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"), 'Mixed-Case')
    assert.deepEqual(owner.rows, [{ tableowner: 'Mixed-Case:owner' }])
    await postgresql.users?.delete(ctx, { name: 'bob' }) // already gone
    assert.deepEqual((await postgresql.users?.list(ctx))?.map((u) => u.name), ['alice'])
    await postgresql.databases?.delete(ctx, 'Mixed-Case')
    assert.deepEqual((await postgresql.databases?.list(ctx))?.map((d) => d.name), ['other-db', 'shop'])
    await assert.rejects(postgresql.users?.delete(ctx, { name: 'coffer_admin' }) ?? Promise.reject(new Error('no users')), /reserved/)
  })

  it('renames a user, changes its password, grants and revokes databases', async () => {
    const users = postgresql.users
    assert.ok(users)
    await users.create(ctx, [{ name: 'carol', password: 'carol-pw-1', databases: [] }])
    await users.update(ctx, { name: 'carol' }, { name: 'dave' })
    await users.update(ctx, { name: 'carol' }, { name: 'dave' }) // done before: no error
    await users.update(ctx, { name: 'dave' }, { password: 'dave-pw-2' })
    await assert.rejects(users.update(ctx, { name: 'nobody' }, { password: 'x' }), /does not exist/)
    await assert.rejects(users.update(ctx, { name: 'dave' }, { name: 'alice' }), /already exists/)
    await assert.rejects(connect('dave', 'dave-pw-2', 'other-db').connect(), /permission denied/)
    await users.grant(ctx, { name: 'dave' }, ['other-db'])
    const dave = connect('dave', 'dave-pw-2', 'other-db')
    await dave.connect()
    await dave.query('CREATE TABLE t (x int)')
    await dave.end()
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'dave'), { name: 'dave', databases: [{ name: 'other-db' }] })
    await users.revoke(ctx, { name: 'dave' }, 'other-db')
    await users.revoke(ctx, { name: 'dave' }, 'other-db') // idempotent
    await assert.rejects(connect('dave', 'dave-pw-2', 'other-db').connect(), /permission denied/)
    await assert.rejects(users.grant(ctx, { name: 'dave' }, ['missing-db']), /does not exist/)
    await users.delete(ctx, { name: 'dave' })
  })

  it('reports the tuned configuration', () => {
    const conf = postgresql.engine.effectiveConfiguration(ctx)
    assert.equal(conf.shared_buffers, '128MB')
    assert.equal(conf.max_connections, '100')
    assert.equal(conf.port, ctx.port)
  })

  it('stops for good', async () => {
    await postgresql.engine.stop(ctx)
    assert.equal((await postgresql.engine.status(ctx)).state, 'stopped')
  })
})
