/**
 * PostgreSQL's configuration groups (Trove's configuration parameters).
 *
 * Catalog: read once per PostgreSQL version from pg_settings of a throwaway engine (a copy of the
 * node's template, unix socket only, in a temporary folder under cacheDir), cached as JSON in
 * cacheDir, filtered by the allow-list in parameters.ts. Values are bare numbers in the unit
 * pg_settings names (see parameters.ts).
 *
 * Overrides: saved first as JSON in guestDir (the truth), rendered into postgresql.auto.conf at
 * every start (config.ts), and applied live with ALTER SYSTEM SET / RESET and a reload. A restart
 * is reported as needed only where PostgreSQL itself says so (pg_settings.pending_restart).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { ConfigurationValues, ParameterSpec } from '../../../core/configuration.js'
import { BadRequest, CofferError, errorMessage } from '../../../core/errors.js'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { writeFileAtomic } from '../common/files.js'
import { throwawayFailed } from '../common/engine-errors.js'
import { tailFile } from '../common/log-tail.js'
import { overridesFile } from '../common/overrides-file.js'
import { isAlive, spawnDetached } from '../common/process.js'
import { serialised } from '../common/serialise.js'
import { readFromThrowaway } from '../common/throwaway-engine.js'
import type { ConfigurationAdmin, InstanceContext, OsAccount } from '../datastore.js'
import type { PgClient } from './client.js'
import { binDir, SERVICE_USER } from './manifest.js'
import { catalogFromSettings, PG_SETTINGS_QUERY, POSTGRESQL_PARAMETERS, settingText, unstartable, type PgSettingRow } from './parameters.js'
import { withService } from './service-account.js'
import { ensureTemplate } from './template.js'

type Node = { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }

const overrides = overridesFile<ConfigurationValues>('postgresql-configuration.json', {})

/** The instance's saved overrides ({} when it has none), async and sync (for effectiveConfiguration). */
export const { read: readOverrides, readSync: readOverridesSync } = overrides

// ---- catalog ----

const cacheFile = (node: Node): string => join(node.cacheDir, `postgresql-${node.version.versionNumber}-settings.json`)
const tmpPrefix = (node: Node): string => `postgresql-${node.version.name}-settings.tmp-`
// One read per version at a time in this process, as readFromThrowaway requires.
const reading = new Map<string, Promise<PgSettingRow[]>>()

/**
 * Every row of pg_settings for this version: from the cache, else from a throwaway engine (then
 * cached). The whole table is cached, not the filtered catalog, so a new allow-list needs no new read.
 */
async function settingsOf(node: Node): Promise<PgSettingRow[]> {
  const cached = await readFile(cacheFile(node), 'utf8').then((t) => JSON.parse(t) as PgSettingRow[], () => undefined)
  if (cached) return cached
  let p = reading.get(cacheFile(node))
  if (!p) {
    p = readFromEngine(node).finally(() => reading.delete(cacheFile(node)))
    reading.set(cacheFile(node), p)
  }
  return p
}

async function readFromEngine(node: Node): Promise<PgSettingRow[]> {
  const template = await ensureTemplate(node.cacheDir, node.version, node.account)
  const rows = await readFromThrowaway({
    cacheDir: node.cacheDir,
    prefix: tmpPrefix(node),
    template,
    account: node.account,
    processName: 'postgres',
    pidFile: join('data', 'postmaster.pid'),
    // Immediate shutdown (SIGQUIT): no checkpoint to write for a folder about to be removed.
    stopSteps: [['SIGQUIT', 10_000], ['SIGKILL', 10_000]],
    start: ({ dir, dataDir, runDir }) =>
      spawnDetached({
        command: join(binDir(node.version), 'postgres'),
        // No TCP at all; a small footprint, nothing durable: the folder is thrown away.
        args: ['-D', dataDir, '-c', 'listen_addresses=', '-c', 'port=5432', '-c', `unix_socket_directories=${runDir}`, '-c', 'logging_collector=off',
          '-c', 'shared_buffers=16MB', '-c', 'max_connections=10', '-c', 'fsync=off', '-c', 'autovacuum=off'],
        account: node.account,
        logFile: join(dir, 'startup.log'),
        cwd: dataDir,
      }),
    read: async ({ dir, dataDir, runDir }, pid) => {
      await waitReady(dataDir, pid, join(dir, 'startup.log'))
      const c = new pg.Client({ host: runDir, port: 5432, user: SERVICE_USER, password: template.password, database: 'postgres', connectionTimeoutMillis: 10_000 })
      c.on('error', () => undefined)
      try {
        await c.connect()
        return (await c.query<PgSettingRow>(PG_SETTINGS_QUERY)).rows
      } finally {
        await c.end().catch(() => undefined)
      }
    },
  })
  // Cached only once the throwaway is gone: a crash before this leaves no cache, so the next call
  // reads again and its clean-up stops whatever the crash left running.
  await writeFileAtomic(cacheFile(node), JSON.stringify(rows), { mode: 0o644 })
  return rows
}

async function waitReady(data: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const lines = (await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')
    if (Number(lines[0]) === pid && lines[7]?.trim() === 'ready') return
    if (!(await isAlive(pid))) throw throwawayFailed('PostgreSQL for the parameter catalog', true, await tailFile(log))
    if (Date.now() > deadline) throw throwawayFailed('PostgreSQL for the parameter catalog', false, await tailFile(log))
    await sleep(5)
  }
}

// ---- apply ----

/** Waits until this session has re-read the configuration files after pg_reload_conf(). */
export async function reload(c: PgClient): Promise<void> {
  // Text, not a JS Date: the reload may come within the same millisecond.
  const before = (await c.query<{ t: string }>('SELECT pg_conf_load_time()::text AS t')).rows[0]?.t
  await c.query('SELECT pg_reload_conf()')
  // The postmaster re-reads first, then signals every backend, ours included; a backend re-reads
  // between statements. Once ours has, new sessions see the new values and pending_restart is true.
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const r = await c.query<{ done: boolean }>('SELECT pg_conf_load_time() > $1::timestamptz AS done', [before])
    if (r.rows[0]?.done) return
    await sleep(5)
  }
  throw new CofferError('TIMEOUT', 'PostgreSQL did not re-read its configuration within 10 s.')
}

/** ALTER SYSTEM so that postgresql.auto.conf holds exactly `values`; names only from the allow-list. */
async function alterSystem(c: PgClient, values: ConfigurationValues, alsoReset: Iterable<string>): Promise<void> {
  // What the file holds now (pg_file_settings parses it afresh), so leftovers of any past ALTER SYSTEM go too.
  const inFile = await c.query<{ name: string }>("SELECT DISTINCT name FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf'")
  const reset = new Set([...inFile.rows.map((r) => r.name), ...alsoReset])
  for (const name of [...reset].sort()) {
    if (POSTGRESQL_PARAMETERS.has(name) && !(name in values)) await c.query(`ALTER SYSTEM RESET ${c.escapeIdentifier(name)}`)
  }
  for (const [name, value] of Object.entries(values)) {
    try {
      await c.query(`ALTER SYSTEM SET ${c.escapeIdentifier(name)} = ${c.escapeLiteral(settingText(value))}`)
    } catch (err) {
      // 22023 invalid_parameter_value, 22P02 invalid_text_representation: the engine's own check said no.
      const code = (err as { code?: string }).code ?? ''
      if (code.startsWith('22')) throw new BadRequest(`PostgreSQL refused the value for the configuration parameter ${name}: ${errorMessage(err)}`)
      throw err
    }
  }
}

// A configuration group may set timeouts and limits meant for applications. Coffer's own service
// account keeps them off at the role level (which wins over the configuration files), so that a
// statement_timeout of 1 ms cannot stop Coffer from creating a database or a user.
const SERVICE_ROLE_PINS = ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout']

async function applyUnlocked(ctx: InstanceContext, values: ConfigurationValues): Promise<{ restartRequired: string[] }> {
  for (const name of Object.keys(values)) {
    if (!POSTGRESQL_PARAMETERS.has(name)) throw new BadRequest(`The configuration parameter ${name} is not supported for this datastore: PostgreSQL.`)
  }
  const refused = unstartable(values, ctx.flavor.ramMb)
  if (refused) throw new BadRequest(refused)
  const previous = await readOverrides(ctx)
  await overrides.write(ctx, values)
  try {
    return await withService(ctx, async (c) => {
      for (const name of SERVICE_ROLE_PINS) await c.query(`ALTER ROLE ${c.escapeIdentifier(SERVICE_USER)} SET ${name} = 0`)
      await alterSystem(c, values, Object.keys(previous))
      await reload(c)
      // Every group parameter still waiting for a restart, including ones an earlier apply changed:
      // the instance needs that restart all the same.
      const names = [...new Set([...POSTGRESQL_PARAMETERS, ...Object.keys(previous)])]
      const pending = await c.query<{ name: string }>('SELECT name FROM pg_settings WHERE pending_restart AND name = ANY($1) ORDER BY name', [names])
      return { restartRequired: pending.rows.map((r) => r.name) }
    })
  } catch (err) {
    // Put back what was there, in the file and (best effort) in the engine, so a refused value
    // changes nothing; a start renders the saved overrides anyway.
    await overrides.write(ctx, previous)
    await withService(ctx, async (c) => {
      await alterSystem(c, previous, Object.keys(values))
      await reload(c)
    }).catch(() => undefined)
    throw err
  }
}

/** PostgreSQL's ConfigurationAdmin. */
export const postgresqlConfiguration: ConfigurationAdmin = {
  async catalog(node: Node): Promise<ParameterSpec[]> {
    return catalogFromSettings(await settingsOf(node))
  },
  // Same queue as start and stop (manager.ts keys it by volumeDir): a start never renders half an apply.
  apply: (ctx: InstanceContext, values: ConfigurationValues) => serialised(ctx.volumeDir, () => applyUnlocked(ctx, values)),
}
