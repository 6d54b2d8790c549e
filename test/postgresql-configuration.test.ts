/**
 * PostgreSQL configuration groups against a real PostgreSQL 15: the catalog read from a throwaway
 * engine and cached, live and restart-only values, overrides rendered at every start, and
 * detaching (apply {}) bringing the tuned values back. Runs engines as `postgres` when root.
 */
import assert from 'node:assert/strict'
import { appendFile, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type ParameterSpec, validateValues } from '../src/core/configuration.js'
import type { ConfigurationAdmin, InstanceContext } from '../src/guest/datastores/datastore.js'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { dataDir } from '../src/guest/datastores/postgresql/manager.js'
import { withService } from '../src/guest/datastores/postgresql/service-account.js'
import { ensureTemplate } from '../src/guest/datastores/postgresql/template.js'
import { type GuestHome, makeGuestHome, processesNaming } from './helpers/guest-context.js'

describe('PostgreSQL configuration groups', async () => {
  const manifest = await postgresql.discover()
  const version = manifest.versions.find((v) => v.name === '15')
  const config = postgresql.configuration as ConfigurationAdmin
  let guest: GuestHome | undefined
  let ctx: InstanceContext
  let catalog: ParameterSpec[] = []
  const node = () => ({ cacheDir: ctx.cacheDir, account: ctx.nodeAccount, version: ctx.version })
  /** SHOW on a new session, as the service account. */
  const show = (name: string): Promise<string> => withService(ctx, async (c) => (await c.query(`SHOW ${c.escapeIdentifier(name)}`)).rows[0][name])
  const restart = async () => {
    await postgresql.engine.stop(ctx)
    await postgresql.engine.start(ctx)
  }

  before(async () => {
    assert.ok(version, `PostgreSQL 15 is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(postgresql, version, { label: 'pgconf', instanceId: '00000000-0000-4000-8000-0000000000c1', stopSignal: 'SIGQUIT' })
    ctx = guest.ctx
    // What the node's warm-up does; the catalog's cold figure below is then the throwaway engine alone.
    await ensureTemplate(ctx.cacheDir, ctx.version, ctx.nodeAccount)
    await postgresql.engine.prepare(ctx, { databases: [], users: [] })
  })

  // Whatever failed above, leave no engine behind: the instance's, or a throwaway in the cache.
  after(() => guest?.cleanup())

  it('reads the catalog from a throwaway engine once, then from the cache', async (t) => {
    let started = performance.now()
    catalog = await config.catalog(node())
    t.diagnostic(`catalog (cold: copy template + start + read pg_settings + stop): ${Math.round(performance.now() - started)} ms`)
    started = performance.now()
    const again = await config.catalog(node())
    t.diagnostic(`catalog (cached): ${(performance.now() - started).toFixed(1)} ms, ${catalog.length} parameters`)
    assert.deepEqual(again, catalog)
    assert.deepEqual(await readdir(ctx.cacheDir).then((names) => names.filter((n) => n.includes('.tmp-'))), [], 'no temporary folder left')
    assert.deepEqual(await processesNaming(ctx.cacheDir), [], 'no throwaway engine left running')
    assert.equal((await stat(join(ctx.cacheDir, `postgresql-${ctx.version.versionNumber}-settings.json`))).isFile(), true)
  })

  it('offers safe parameters, sorted, with types and bounds from the engine', async () => {
    const names = catalog.map((p) => p.name)
    assert.deepEqual(names, [...names].sort())
    assert.ok(catalog.length >= 40 && catalog.length <= 80, `${catalog.length} parameters`)
    for (const bad of ['data_directory', 'port', 'listen_addresses', 'ssl', 'archive_command', 'shared_preload_libraries', 'fsync', 'hba_file']) {
      assert.ok(!names.includes(bad), bad)
    }
    assert.equal(names.filter((n) => /ssl|_file$|hba|ident|director|command|librar|socket|password|^port$|listen/.test(n)).length, 0)
    const byName = new Map(catalog.map((p) => [p.name, p]))
    const live = await withService(ctx, async (c) =>
      (await c.query('SELECT name, vartype, min_val, max_val, enumvals, context FROM pg_settings WHERE name = ANY($1)', [
        ['max_connections', 'work_mem', 'random_page_cost', 'log_statement', 'autovacuum', 'log_connections'],
      ])).rows,
    )
    assert.equal(live.length, 6)
    for (const row of live) {
      const p = byName.get(row.name)
      assert.ok(p, row.name)
      const type = { integer: 'integer', real: 'float', bool: 'boolean', enum: 'string', string: 'string' }[row.vartype as string]
      assert.equal(p.type, type, row.name)
      assert.equal(p.min, row.min_val === null ? undefined : Number(row.min_val), row.name)
      assert.equal(p.max, row.max_val === null ? undefined : Number(row.max_val), row.name)
      assert.deepEqual(p.allowed, row.enumvals ?? undefined, row.name)
      assert.equal(p.restartRequired, row.context === 'postmaster', row.name)
    }
    assert.deepEqual({ ...byName.get('max_connections'), description: undefined }, { name: 'max_connections', type: 'integer', min: 1, max: 262143, restartRequired: true, description: undefined })
    assert.equal(byName.get('work_mem')?.restartRequired, false)
    assert.match(byName.get('work_mem')?.description ?? '', /Unit: kB\./)
    assert.equal(byName.get('log_connections')?.restartRequired, false, 'backend context: new sessions, no restart')
  })

  it('applies live values to new sessions without a restart', async (t) => {
    const started = performance.now()
    const result = await config.apply(ctx, { work_mem: 8192, log_min_duration_statement: 250, jit: false })
    t.diagnostic(`apply (3 live values): ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(result.restartRequired, [])
    assert.equal(await show('work_mem'), '8MB')
    assert.equal(await show('log_min_duration_statement'), '250ms')
    assert.equal(await show('jit'), 'off')
    const effective = postgresql.engine.effectiveConfiguration(ctx)
    assert.equal(effective.work_mem, 8192)
    assert.equal(effective.shared_buffers, '128MB', 'tuned values stay beneath the overrides')
    const saved = join(ctx.guestDir, 'postgresql-configuration.json')
    assert.equal((await stat(saved)).mode & 0o777, 0o600)
  })

  it('reports max_connections as needing a restart, and it takes effect after one', async (t) => {
    const started = performance.now()
    const result = await config.apply(ctx, { work_mem: 8192, log_min_duration_statement: 250, max_connections: 123 })
    t.diagnostic(`apply (with a restart-only value): ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(result.restartRequired, ['max_connections'])
    assert.equal(await show('max_connections'), '100')
    assert.equal(await show('jit'), 'on', 'a value no longer set goes back to its default')
    await restart()
    assert.equal(await show('max_connections'), '123')
    assert.equal(await show('work_mem'), '8MB', 'overrides survive a restart')
    assert.deepEqual((await config.apply(ctx, { work_mem: 8192, log_min_duration_statement: 250, max_connections: 123 })).restartRequired, [])
  })

  it('renders the saved overrides at every start, whatever the file held', async () => {
    await postgresql.engine.stop(ctx)
    await appendFile(join(dataDir(ctx), 'postgresql.auto.conf'), "work_mem = '1MB'\nport = '1'\n")
    await postgresql.engine.start(ctx)
    assert.equal(await show('work_mem'), '8MB')
    assert.equal(await show('port'), String(ctx.port))
  })

  it('refuses what the engine or the allow-list refuses, and changes nothing', async () => {
    await assert.rejects(config.apply(ctx, { log_statement: 'verbose' }), /PostgreSQL refused the value for the configuration parameter log_statement/)
    await assert.rejects(config.apply(ctx, { data_directory: '/tmp' }), /not supported/)
    assert.equal(await show('work_mem'), '8MB')
    assert.equal(await show('log_statement'), 'none')
    assert.deepEqual(JSON.parse(await readFile(join(ctx.guestDir, 'postgresql-configuration.json'), 'utf8')), { work_mem: 8192, log_min_duration_statement: 250, max_connections: 123 })
  })

  it('compares enum values regardless of case as PostgreSQL does, and its check of max_connections against the other slots refuses cleanly', async () => {
    const file = JSON.parse(await readFile(join(ctx.guestDir, 'postgresql-configuration.json'), 'utf8')) as Record<string, number>
    assert.deepEqual(validateValues(catalog, { log_statement: 'DDL' }, 'postgresql 15'), { log_statement: 'DDL' })
    assert.throws(() => validateValues(catalog, { log_statement: 'verbose' }, 'postgresql 15'), /log_statement is not one of: none, ddl, mod, all/)
    await config.apply(ctx, { ...file, log_statement: 'DDL' })
    assert.equal(await show('log_statement'), 'ddl')
    // Within pg_settings' range, so the catalog passes it; the engine adds the worker and WAL sender slots and refuses.
    assert.deepEqual(validateValues(catalog, { max_connections: 262143 }, 'postgresql 15'), { max_connections: 262143 })
    await assert.rejects(config.apply(ctx, { ...file, max_connections: 262143 }), /PostgreSQL refused the value for the configuration parameter max_connections/)
    assert.equal(await show('log_statement'), 'ddl', 'the refused apply changed nothing')
    await config.apply(ctx, file)
    assert.equal(await show('log_statement'), 'none')
    assert.deepEqual(JSON.parse(await readFile(join(ctx.guestDir, 'postgresql-configuration.json'), 'utf8')), file)
  })

  it("keeps Coffer's own service account free of the group's timeouts", async () => {
    const result = await config.apply(ctx, { statement_timeout: 1, lock_timeout: 1, idle_session_timeout: 1 })
    assert.deepEqual(result.restartRequired, ['max_connections'], 'runs with 123; the file now says the tuned 100')
    await postgresql.databases?.create(ctx, [{ name: 'made-under-timeouts' }])
    assert.ok((await postgresql.databases?.list(ctx))?.some((d) => d.name === 'made-under-timeouts'))
    assert.equal(await withService(ctx, async (c) => (await c.query("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")).rows[0].setting), '0')
    // Everyone else gets them: reading the system-wide value as the file holds it.
    assert.deepEqual((await withService(ctx, (c) => c.query("SELECT setting FROM pg_file_settings WHERE name = 'statement_timeout'"))).rows, [{ setting: '1' }])
  })

  it('detaching (apply {}) brings every value back to its tuned default', async () => {
    const result = await config.apply(ctx, {})
    assert.deepEqual(result.restartRequired, ['max_connections'])
    const tuned = postgresql.engine.effectiveConfiguration(ctx)
    assert.equal(tuned.work_mem, '1310kB')
    assert.equal(await show('work_mem'), '1310kB')
    assert.equal(await show('log_min_duration_statement'), '-1')
    assert.equal(await show('statement_timeout'), '0')
    await restart()
    assert.equal(await show('max_connections'), '100')
    assert.equal(await show('work_mem'), '1310kB')
    const autoConf = await readFile(join(dataDir(ctx), 'postgresql.auto.conf'), 'utf8')
    assert.equal(autoConf.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length, 0, autoConf)
  })

  it('stops for good', async () => {
    await postgresql.engine.stop(ctx)
    assert.equal((await postgresql.engine.status(ctx)).state, 'stopped')
  })
})
