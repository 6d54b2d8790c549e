/**
 * PostgreSQL access as Trove's users expect it from MySQL, on a real PostgreSQL 15: users granted
 * the same database share its tables whoever made them; a revoke or a delete takes a user out and
 * leaves the tables with the database; databases granted the old way are adopted at the next grant.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { InstanceContext, UserAdmin } from '../src/guest/datastores/datastore.js'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { withService } from '../src/guest/datastores/postgresql/service-account.js'
import { type GuestHome, makeGuestHome } from './helpers/guest-context.js'

const PASSWORD = { ann: 'ann-pw-12345', ben: 'ben-pw-12345', cid: 'cid-pw-12345', dee: 'dee-pw-12345', old: 'old-pw-12345', neu: 'neu-pw-12345' }
type Name = keyof typeof PASSWORD

describe('PostgreSQL access per database', async () => {
  const manifest = await postgresql.discover()
  const version = manifest.versions.find((v) => v.name === '15')
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  let users: UserAdmin
  const open: pg.Client[] = []

  const client = (user: string, password: string, database: string): pg.Client => {
    const c = new pg.Client({ host: '127.0.0.1', port: ctx.port, user, password, database, connectionTimeoutMillis: 5000 })
    c.on('error', () => undefined)
    return c
  }
  /** A connected session as `user` on `database`, ended after the test. */
  const session = async (user: Name, database: string): Promise<pg.Client> => {
    const c = client(user, PASSWORD[user], database)
    await c.connect()
    open.push(c)
    return c
  }
  const as = async <T>(user: Name, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = client(user, PASSWORD[user], database)
    await c.connect()
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }
  const ownerOf = async (database: string, table: string): Promise<string> =>
    (await withService(ctx, (c) => c.query('SELECT tableowner FROM pg_tables WHERE tablename = $1', [table]), database)).rows[0]?.tableowner

  before(async () => {
    assert.ok(version, `PostgreSQL 15 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(postgresql, version, { label: 'pgaccess', instanceId: '00000000-0000-4000-8000-00000000a11c', stopSignal: 'SIGQUIT' })
    ctx = guest.ctx
    assert.ok(postgresql.users)
    users = postgresql.users
    await postgresql.engine.prepare(ctx, {
      databases: [{ name: 'shop' }, { name: 'stock' }],
      users: [
        { name: 'ann', password: PASSWORD.ann, databases: [{ name: 'shop' }] },
        { name: 'ben', password: PASSWORD.ben, databases: [{ name: 'shop' }] },
        { name: 'cid', password: PASSWORD.cid, databases: [] },
      ],
    })
  })

  after(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)))
    await guest?.cleanup()
  })

  it('lets two users granted a database use and alter each other\'s tables', async () => {
    await as('ann', 'shop', async (c) => {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)')
      await c.query("INSERT INTO orders VALUES (1, 'coffee')")
    })
    await as('ben', 'shop', async (c) => {
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'coffee' }])
      await c.query("INSERT INTO orders VALUES (2, 'tea')")
      await c.query('ALTER TABLE orders ADD COLUMN qty int DEFAULT 1')
      await c.query('CREATE TABLE customers (id serial PRIMARY KEY, name text)')
      await c.query("INSERT INTO customers (name) VALUES ('zoe')")
    })
    await as('ann', 'shop', async (c) => {
      assert.deepEqual((await c.query('SELECT id, item, qty FROM orders ORDER BY id')).rows, [
        { id: 1, item: 'coffee', qty: 1 },
        { id: 2, item: 'tea', qty: 1 },
      ])
      await c.query("INSERT INTO customers (name) VALUES ('yan')") // the sequence too
      await c.query('CREATE INDEX customers_name ON customers (name)')
      assert.equal((await c.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 2)
      // Still ann, and no more powerful than before.
      const me = (await c.query('SELECT session_user AS who, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user')).rows[0]
      assert.deepEqual(me, { who: 'ann', rolsuper: false, rolcreaterole: false, rolcreatedb: false })
    })
    assert.equal(await ownerOf('shop', 'orders'), 'shop:owner')
    assert.equal(await ownerOf('shop', 'customers'), 'shop:owner')
    assert.deepEqual((await users.list(ctx)).filter((u) => u.name !== 'cid'), [
      { name: 'ann', databases: [{ name: 'shop' }] },
      { name: 'ben', databases: [{ name: 'shop' }] },
    ])
  })

  it('keeps users out of databases they were not granted', async () => {
    await assert.rejects(as('cid', 'shop', async () => undefined), /permission denied/)
    await assert.rejects(as('ann', 'stock', async () => undefined), /permission denied/)
    await assert.rejects(as('ann', 'postgres', async () => undefined), /permission denied/)
    // Membership of a database's role is no way into another database, nor to the service account.
    await as('ann', 'shop', async (c) => {
      await assert.rejects(c.query('SET ROLE coffer_admin'), /permission denied/)
      await assert.rejects(c.query('DROP DATABASE stock'), /must be owner|permission denied|being accessed/)
      // Without the grant option PostgreSQL only warns and grants nothing.
      await c.query('GRANT CONNECT ON DATABASE shop TO PUBLIC').catch(() => undefined)
    })
    await assert.rejects(as('cid', 'shop', async () => undefined), /permission denied/)
  })

  it('lets a user granted two databases work in both', async () => {
    await users.create(ctx, [{ name: 'dee', password: PASSWORD.dee, databases: [{ name: 'shop' }, { name: 'stock' }] }])
    await as('dee', 'stock', (c) => c.query('CREATE TABLE shelves (id int)'))
    await as('dee', 'shop', async (c) => {
      await c.query('INSERT INTO orders (id, item) VALUES (3, $1)', ['milk'])
      await c.query('CREATE TABLE deliveries (id int)')
    })
    assert.equal(await ownerOf('stock', 'shelves'), 'stock:owner')
    assert.equal(await ownerOf('shop', 'deliveries'), 'shop:owner')
    await users.grant(ctx, { name: 'cid' }, ['stock'])
    await as('cid', 'stock', (c) => c.query('INSERT INTO shelves VALUES (1)'))
    await assert.rejects(as('cid', 'shop', async () => undefined), /permission denied/)
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'dee')?.databases, [{ name: 'shop' }, { name: 'stock' }])
  })

  it('takes a revoked user out at once, open sessions included', async () => {
    const open = await session('ben', 'shop')
    await users.revoke(ctx, { name: 'ben' }, 'shop')
    await assert.rejects(as('ben', 'shop', async () => undefined), /permission denied/)
    await assert.rejects(open.query('SELECT * FROM orders'), /terminat|Connection terminated|not queryable/i)
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'ben')?.databases, [])
    await users.revoke(ctx, { name: 'ben' }, 'shop') // again: no error
    await users.grant(ctx, { name: 'ben' }, ['shop'])
    await as('ben', 'shop', async (c) => assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 3))
  })

  it('leaves a deleted user\'s tables with the database, usable by the others', async () => {
    // Made as ann herself, not as the database's role: the delete hands it over too.
    await as('ann', 'shop', async (c) => {
      await c.query('SET ROLE NONE')
      await c.query('CREATE TABLE ann_notes (t text)')
      await c.query("INSERT INTO ann_notes VALUES ('hello')")
    })
    assert.equal(await ownerOf('shop', 'ann_notes'), 'ann')
    await session('ann', 'shop')
    await users.delete(ctx, { name: 'ann' })
    await users.delete(ctx, { name: 'ann' }) // gone already: no error
    assert.equal(await ownerOf('shop', 'orders'), 'shop:owner')
    assert.equal(await ownerOf('shop', 'ann_notes'), 'shop:owner')
    await as('ben', 'shop', async (c) => {
      assert.deepEqual((await c.query('SELECT t FROM ann_notes')).rows, [{ t: 'hello' }])
      await c.query('ALTER TABLE ann_notes ADD COLUMN at timestamptz')
      await c.query("INSERT INTO orders (id, item) VALUES (4, 'jam')")
    })
    assert.equal((await users.list(ctx)).some((u) => u.name === 'ann'), false)
  })

  it('lets root see everything', async () => {
    const root = await postgresql.root?.enable(ctx, 'root-pw-12345')
    assert.equal(root?.name, 'root')
    for (const [db, table] of [['shop', 'orders'], ['stock', 'shelves']] as const) {
      const c = client('root', 'root-pw-12345', db)
      await c.connect()
      try {
        assert.ok((await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n >= 1)
      } finally {
        await c.end()
      }
    }
    await postgresql.root?.disable(ctx)
  })

  it('adopts a database granted the old way at its next grant', async () => {
    await postgresql.databases?.create(ctx, [{ name: 'legacy' }])
    await users.create(ctx, [{ name: 'old', password: PASSWORD.old, databases: [] }])
    // What Coffer did before databases had owner roles.
    await withService(ctx, (c) => c.query('GRANT ALL PRIVILEGES ON DATABASE legacy TO old'))
    await withService(ctx, (c) => c.query('GRANT CREATE, USAGE ON SCHEMA public TO old'), 'legacy')
    await as('old', 'legacy', (c) => c.query("CREATE TABLE ledger AS SELECT 'first'::text AS line"))
    assert.equal(await ownerOf('legacy', 'ledger'), 'old')
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'old')?.databases, [{ name: 'legacy' }])

    await users.create(ctx, [{ name: 'neu', password: PASSWORD.neu, databases: [{ name: 'legacy' }] }])
    assert.equal(await ownerOf('legacy', 'ledger'), 'legacy:owner')
    await as('neu', 'legacy', async (c) => {
      await c.query("INSERT INTO ledger VALUES ('second')")
      await c.query('CREATE TABLE notes (t text)')
    })
    await as('old', 'legacy', async (c) => {
      assert.equal((await c.query('SELECT count(*)::int AS n FROM ledger')).rows[0].n, 2)
      await c.query("INSERT INTO notes VALUES ('works')")
    })
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'old')?.databases, [{ name: 'legacy' }])
    const direct = await withService(ctx, (c) =>
      c.query("SELECT count(*)::int AS n FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = 'legacy' AND a.grantee = 'old'::regrole"),
    )
    assert.equal(direct.rows[0].n, 0, 'old-style grants are gone')
  })

  it('drops a database\'s role with it, so a new database of that name starts closed', async () => {
    await postgresql.databases?.delete(ctx, 'stock')
    const role = await withService(ctx, (c) => c.query("SELECT 1 FROM pg_roles WHERE rolname = 'stock:owner'"))
    assert.equal(role.rowCount, 0)
    await postgresql.databases?.create(ctx, [{ name: 'stock' }])
    await assert.rejects(as('dee', 'stock', async () => undefined), /permission denied/)
    assert.deepEqual((await users.list(ctx)).find((u) => u.name === 'dee')?.databases, [{ name: 'shop' }])
  })
})
