/**
 * MariaDB configuration groups against a real MariaDB 10.11: the catalog read once from a
 * throwaway server and then from the cache, checked against a running instance's own
 * SYSTEM_VARIABLES; live values, read-only values waiting for a restart, overrides kept across
 * restarts, refused values changing nothing, and detaching (apply {}) bringing every value back.
 * Runs the engine as the `mysql` account when the test runs as root. Figures go to diagnostics.
 */
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as mysql from 'mysql2/promise'
import { type ParameterSpec, validateValues } from '../src/core/configuration.js'
import { BadRequest } from '../src/core/errors.js'
import { runAs } from '../src/guest/datastores/common/process.js'
import type { ConfigurationAdmin, InstanceContext, OsAccount } from '../src/guest/datastores/datastore.js'
import { mariadb, mariadbServer } from '../src/guest/datastores/mariadb/index.js'
import { cnfPath, instancePaths } from '../src/guest/datastores/mariadb/manager.js'
import { readNames } from '../src/guest/datastores/mariadb/configuration.js'
import { cnfName, MARIADB_PARAMETERS, type MariadbVariableRow, SYSTEM_VARIABLES_QUERY, toParameterSpec } from '../src/guest/datastores/mariadb/parameters.js'
import { withService } from '../src/guest/datastores/mariadb/service-account.js'
import { ensureTemplate } from '../src/guest/datastores/mariadb/template.js'
import { type GuestHome, makeGuestHome, processesNaming } from './helpers/guest-context.js'

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const MB = 2 ** 20
const engine = mariadb.engine
const config = mariadb.configuration as ConfigurationAdmin

describe('MariaDB configuration groups', async () => {
  const manifest = await mariadb.discover()
  const version = manifest.versions[0]
  let guest: GuestHome | undefined
  let account: OsAccount
  let ctx: InstanceContext
  let catalog: ParameterSpec[] = []
  /** Every catalog parameter's global value on the fresh instance. */
  let fresh: Record<string, string> = {}

  const globals = (names: readonly string[]): Promise<Record<string, string>> =>
    withService(ctx, async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        'SELECT LOWER(VARIABLE_NAME) AS name, GLOBAL_VALUE AS v FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN (?)',
        [names.map((n) => n.toUpperCase())],
      )
      return Object.fromEntries(rows.map((r) => [r.name as string, r.v as string]))
    })
  const one = async (name: string): Promise<string> =>
    withService(ctx, async (c) => String(Object.values((await c.query<mysql.RowDataPacket[]>(`SELECT @@global.${name} AS v`))[0][0] ?? {})[0]))
  const everything = () => globals(catalog.map((p) => p.name))
  const restart = async () => {
    await engine.stop(ctx)
    await engine.start(ctx)
  }
  const savedFile = async () => JSON.parse(await readFile(join(ctx.guestDir, 'mariadb-configuration.json'), 'utf8')) as { values: object; before: object }
  const saved = async () => (await savedFile()).values

  before(async () => {
    assert.ok(version, `MariaDB is installed (found ${JSON.stringify(manifest.versions)})`)
    guest = await makeGuestHome(mariadb, version, { label: 'mariadbconf', instanceId: '00000000-0000-4000-8000-0000000c0f16' })
    account = guest.account
    ctx = guest.ctx
  })

  // Whatever failed above, leave no engine behind: the instance's, or a throwaway in the cache.
  after(() => guest?.cleanup())

  it('reads the catalog once from a throwaway server, then from the cache, and leaves nothing behind', async (t) => {
    let started = performance.now()
    await ensureTemplate(ctx.cacheDir, mariadbServer, ctx.version, ctx.nodeAccount)
    t.diagnostic(`template build (not part of the catalog): ${Math.round(performance.now() - started)} ms`)
    const node = { cacheDir: ctx.cacheDir, account: ctx.nodeAccount, version: ctx.version }
    started = performance.now()
    catalog = await config.catalog(node)
    t.diagnostic(`catalog cold (copy template + start throwaway + read + stop + remove): ${Math.round(performance.now() - started)} ms`)
    const times: number[] = []
    for (let i = 0; i < 5; i++) {
      started = performance.now()
      assert.deepEqual(await config.catalog(node), catalog)
      times.push(performance.now() - started)
    }
    t.diagnostic(`catalog cached, 5 runs: median ${median(times).toFixed(2)} ms`)
    assert.deepEqual((await readdir(ctx.cacheDir)).sort(), ['mariadb-10.11', `mariadb-${ctx.version.versionNumber}-catalog.json`])
    assert.deepEqual(await processesNaming(ctx.cacheDir), [], 'the throwaway server is gone')
  })

  it('offers the allow-listed parameters with the engine\'s types and bounds, and nothing unsafe', () => {
    assert.deepEqual(catalog.map((p) => p.name), [...MARIADB_PARAMETERS].sort(), 'every allow-listed name exists in 10.11')
    const byName = new Map(catalog.map((p) => [p.name, p]))
    assert.deepEqual(
      { ...byName.get('max_connections'), description: undefined },
      { name: 'max_connections', type: 'integer', min: 10, max: 100000, restartRequired: false, description: undefined },
    )
    assert.equal(byName.get('wait_timeout')?.type, 'integer')
    assert.match(byName.get('wait_timeout')?.description ?? '', /Unit: seconds\. Takes effect in new sessions\./)
    assert.match(byName.get('innodb_buffer_pool_size')?.description ?? '', /Unit: bytes/)
    // MariaDB 10.11 resizes the redo log online (SET GLOBAL innodb_log_file_size): READ_ONLY = NO.
    assert.equal(byName.get('innodb_log_file_size')?.restartRequired, false)
    assert.equal(byName.get('innodb_log_buffer_size')?.restartRequired, true)
    assert.equal(byName.get('performance_schema')?.restartRequired, true)
    assert.equal(byName.get('long_query_time')?.type, 'float')
    assert.equal(byName.get('slow_query_log')?.type, 'boolean')
    assert.deepEqual(byName.get('tx_isolation')?.allowed, ['READ-UNCOMMITTED', 'READ-COMMITTED', 'REPEATABLE-READ', 'SERIALIZABLE'])
    for (const name of ['local_infile', 'secure_file_priv', 'datadir', 'init_connect', 'port', 'socket', 'plugin_dir', 'general_log', 'enforce_storage_engine']) {
      assert.ok(!byName.has(name), name)
    }
  })

  it('sets every parameter in my.cnf under an option the server knows', async () => {
    const { stdout } = await runAs(mariadbServer.serverBinary, ['--no-defaults', '--verbose', '--help'], account)
    const table = stdout.slice(stdout.indexOf('\n-------'))
    const options = new Set(table.split('\n').map((l) => l.split(/\s+/)[0]!.replace(/-/g, '_')))
    for (const name of MARIADB_PARAMETERS) assert.ok(options.has(cnfName(name)), `${name} (my.cnf option ${cnfName(name)})`)
  })

  it('matches a live SELECT from SYSTEM_VARIABLES on a running instance', async () => {
    await engine.prepare(ctx, { databases: [{ name: 'app' }], users: [] })
    const live = await withService(ctx, async (c) => (await c.query<(mysql.RowDataPacket & MariadbVariableRow)[]>(SYSTEM_VARIABLES_QUERY))[0])
    // The instance runs without the locales plugin: its names come from locales.ts, which must match the throwaway's LOCALES.
    const names = await withService(ctx, readNames)
    const byName = new Map(live.map((r) => [r.name, toParameterSpec({ ...r }, names)]))
    for (const p of catalog) assert.deepEqual(byName.get(p.name), p, p.name)
    const [[mc]] = await withService(ctx, (c) => c.query<mysql.RowDataPacket[]>(
      "SELECT NUMERIC_MIN_VALUE AS min, NUMERIC_MAX_VALUE AS max, READ_ONLY AS ro FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME = 'MAX_CONNECTIONS'"))
    assert.deepEqual({ ...mc }, { min: '10', max: '100000', ro: 'NO' })
    fresh = await everything()
    assert.equal(fresh.max_connections, '100', 'tuned for 512 MB')
  })

  it('applies dynamic values at once, saved privately, shown on top of the tuned configuration', async (t) => {
    const started = performance.now()
    assert.deepEqual(await config.apply(ctx, { max_connections: 77, wait_timeout: 600 }), { restartRequired: [] })
    t.diagnostic(`apply {max_connections, wait_timeout}: ${Math.round(performance.now() - started)} ms`)
    assert.equal(await one('max_connections'), '77')
    assert.equal(await one('wait_timeout'), '600')
    // wait_timeout has session scope: a new session starts with the new global.
    assert.equal(await withService(ctx, async (c) => String((await c.query<mysql.RowDataPacket[]>('SELECT @@session.wait_timeout AS v'))[0][0]?.v)), '600')
    // wait_timeout is not in Coffer's my.cnf: its value before the group is kept, to go back to.
    assert.deepEqual(await savedFile(), { values: { max_connections: 77, wait_timeout: 600 }, before: { wait_timeout: '28800' } })
    assert.equal((await stat(join(ctx.guestDir, 'mariadb-configuration.json'))).mode & 0o777, 0o600)
    const effective = engine.effectiveConfiguration(ctx)
    assert.equal(effective.max_connections, 77)
    assert.equal(effective.wait_timeout, 600)
    assert.equal(effective.innodb_buffer_pool_size, '256M')
  })

  it('resizes the redo log live (10.11), and a parameter left out goes back at once', async (t) => {
    const started = performance.now()
    assert.deepEqual(await config.apply(ctx, { max_connections: 77, innodb_log_file_size: 32 * MB }), { restartRequired: [] })
    t.diagnostic(`apply {innodb_log_file_size: 32M} (online redo resize): ${Math.round(performance.now() - started)} ms`)
    assert.equal(await one('innodb_log_file_size'), String(32 * MB))
    assert.equal((await stat(join(instancePaths(ctx).dataDir, 'ib_logfile0'))).size, 32 * MB)
    assert.equal(await one('wait_timeout'), fresh.wait_timeout)
    await restart()
    assert.equal(await one('innodb_log_file_size'), String(32 * MB), 'kept by my.cnf across a restart')
  })

  it('keeps a read-only value for the next start, reports it, and keeps every override across restarts', async (t) => {
    const values = { max_connections: 77, innodb_log_buffer_size: 8 * MB }
    assert.deepEqual(await config.apply(ctx, values), { restartRequired: ['innodb_log_buffer_size'] })
    assert.equal(await one('innodb_log_buffer_size'), String(4 * MB), 'unchanged until the restart')
    assert.equal(await one('innodb_log_file_size'), String(16 * MB), 'the tuned value again, live')
    assert.deepEqual(await config.apply(ctx, values), { restartRequired: ['innodb_log_buffer_size'] }, 'still waiting')
    const cnf = (await readFile(cnfPath(ctx), 'utf8')).split('\n')
    assert.ok(!cnf.some((l) => l.startsWith('innodb_log_buffer_size = 8388608')), 'my.cnf is rendered at start, not by apply')
    const started = performance.now()
    await restart()
    t.diagnostic(`stop + start with overrides: ${Math.round(performance.now() - started)} ms`)
    assert.equal(await one('innodb_log_buffer_size'), String(8 * MB))
    assert.equal(await one('max_connections'), '77')
    const lines = (await readFile(cnfPath(ctx), 'utf8')).split('\n')
    assert.deepEqual(lines.filter((l) => /^(innodb_log_buffer_size|max_connections) /.test(l)), ['innodb_log_buffer_size = 8388608', 'max_connections = 77'])
    assert.deepEqual(await config.apply(ctx, values), { restartRequired: [] }, 'nothing waits once it runs with it')
  })

  it('takes texts, switches and fractions live and after a restart; Coffer\'s own work still runs', async () => {
    const values = {
      sql_mode: '', slow_query_log: true, long_query_time: 0.5, tx_isolation: 'READ-COMMITTED', character_set_server: 'latin1',
      time_zone: '+02:00', autocommit: false, innodb_flush_log_at_trx_commit: 2, max_connections: 77, innodb_io_capacity_max: 3000,
    }
    // innodb_log_buffer_size left the group: back to the tuned 4M, at the next start.
    assert.deepEqual(await config.apply(ctx, values), { restartRequired: ['innodb_log_buffer_size'] })
    const expected = {
      sql_mode: '', slow_query_log: 'ON', long_query_time: '0.500000', tx_isolation: 'READ-COMMITTED', character_set_server: 'latin1',
      collation_server: 'latin1_swedish_ci', time_zone: '+02:00', autocommit: 'OFF', innodb_flush_log_at_trx_commit: '2', max_connections: '77',
      innodb_io_capacity_max: '3000',
    }
    assert.deepEqual(await globals(Object.keys(expected)), expected)
    await restart()
    assert.deepEqual(await globals(Object.keys(expected)), expected)
    assert.equal(await one('innodb_log_buffer_size'), String(4 * MB))
    await mariadb.users!.create(ctx, [{ name: 'bob', password: 'b0b pw', databases: [{ name: 'app' }] }])
    const bob = await mysql.createConnection({ host: '127.0.0.1', port: ctx.port, user: 'bob', password: 'b0b pw', database: 'app' })
    assert.deepEqual((await bob.query<mysql.RowDataPacket[]>('SELECT @@session.autocommit AS a, @@session.time_zone AS z'))[0], [{ a: 0, z: '+02:00' }])
    await bob.end()
    await mariadb.users!.delete(ctx, { name: 'bob' })
  })

  it('refuses what the engine or my.cnf would refuse, and changes nothing', async () => {
    const before = await everything()
    const file = await saved()
    const refusals: Record<string, unknown>[] = [
      { max_connections: 50, character_set_server: 'nope' },
      { max_connections: 50, character_set_server: 'latin1', collation_server: 'utf8mb4_bin' },
      { max_connections: 50, collation_server: 'latin1_bin' },
      { max_connections: 50, time_zone: 'Mars/Olympus' },
      { max_connections: 50, sql_mode: 'ANSI;x' },
      { max_connections: 50, innodb_buffer_pool_size: 500 * MB },
      { max_connections: 50, init_connect: 'DROP DATABASE app' },
    ]
    for (const values of refusals) {
      await assert.rejects(config.apply(ctx, values as Record<string, string | number>), (err) => err instanceof BadRequest, JSON.stringify(values))
      assert.deepEqual(await saved(), file)
      assert.deepEqual(await everything(), before, JSON.stringify(values))
    }
  })

  it('checks texts against the engine\'s own names: what the probe sent is refused, the edges the engine takes pass and apply', async () => {
    const check = (values: Record<string, unknown>) => validateValues(catalog, values, 'mariadb 10.11')
    const byName = new Map(catalog.map((p) => [p.name, p]))
    assert.ok((byName.get('character_set_server')?.allowed ?? []).includes('utf8mb4'))
    assert.ok((byName.get('collation_server')?.allowed ?? []).length > 300)
    assert.ok((byName.get('lc_time_names')?.allowed ?? []).includes('de_DE'))
    for (const values of [{ time_zone: '+99:99' }, { time_zone: '+13:01' }, { time_zone: '-13:00' }, { time_zone: 'UTC' }, { character_set_server: 'nosuch' },
      { lc_time_names: '../../etc/passwd' }, { lc_time_names: 'xx_YY' }, { collation_server: 'nosuch_ci' }, { sql_mode: 'ANSI;x' }, { log_slow_verbosity: 'query_plan, explain' }]) {
      assert.throws(() => check(values), (err) => err instanceof BadRequest && err.message.includes(Object.keys(values)[0]!), JSON.stringify(values))
    }
    const before = await everything()
    const file = (await saved()) as Record<string, string | number | boolean>
    // Each of these passes the catalog and the engine; together they show the catalog is not stricter than MariaDB.
    const taken: Record<string, string>[] = [
      { time_zone: '-12:59', lc_time_names: 'de_de', character_set_server: 'UTF8MB4', collation_server: 'utf8mb4_unicode_ci' },
      { time_zone: '+13:00', character_set_server: 'utf8', collation_server: 'utf8_general_ci', sql_mode: 'traditional,ANSI', log_slow_verbosity: 'query_plan,explain' },
      { time_zone: 'system' },
    ]
    for (const values of taken) {
      check(values)
      await config.apply(ctx, { ...file, ...values })
    }
    await config.apply(ctx, file)
    assert.deepEqual(await saved(), file)
    assert.deepEqual(await everything(), before)
  })

  it('detaching (apply {}) brings every value back, live and after a restart', async (t) => {
    const started = performance.now()
    assert.deepEqual(await config.apply(ctx, {}), { restartRequired: [] })
    t.diagnostic(`apply {} after 10 overrides: ${Math.round(performance.now() - started)} ms`)
    assert.equal(await one('max_connections'), '100', 'the tuned value')
    // Not DEFAULT (4294967295 for this auto-sized one) but what the engine had chosen before the group.
    assert.equal(await one('innodb_io_capacity_max'), '2000')
    // back_log and thread_cache_size are sized at start from max_connections, which was 77 at the
    // last start; they are themselves untouched by the group and follow at the next start.
    const { back_log: _b, thread_cache_size: _t, ...now } = await everything()
    const { back_log: _fb, thread_cache_size: _ft, ...then } = fresh
    assert.deepEqual(now, then)
    assert.deepEqual(await savedFile(), { values: {}, before: {} })
    await restart()
    assert.deepEqual(await everything(), fresh)
    assert.equal(engine.effectiveConfiguration(ctx).max_connections, '100')
  })

  it('measures apply', async (t) => {
    const times: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      await config.apply(ctx, { max_connections: 77 + i, wait_timeout: 600, sql_mode: 'TRADITIONAL' })
      times.push(performance.now() - started)
    }
    t.diagnostic(`apply of 3 live values, 5 runs: median ${Math.round(median(times))} ms, all ${times.map(Math.round).join(', ')}`)
    await config.apply(ctx, {})
  })

  it('stops for good', async () => {
    await engine.stop(ctx)
    assert.equal((await engine.status(ctx)).state, 'stopped')
  })
})
