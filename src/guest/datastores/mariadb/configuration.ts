/**
 * MariaDB's configuration groups (Trove's configuration parameters).
 *
 * Catalog: read once per MariaDB version from information_schema.SYSTEM_VARIABLES of a throwaway
 * server (a copy of the node's template, unix socket only, in a temporary folder under cacheDir),
 * with the names its text variables take (character sets, collations, locales, time zones),
 * cached as JSON in cacheDir, filtered by the allow-list in parameters.ts. Values are bare numbers
 * in the engine's own unit, bytes for sizes (see parameters.ts). MySQL has no SYSTEM_VARIABLES
 * table (its types and bounds are nowhere in SQL), so only MariaDB offers this.
 *
 * Overrides: saved first as JSON in guestDir (the truth), rendered into my.cnf at every start
 * (config.ts), and applied live with SET GLOBAL where the engine can take them. A parameter the
 * group no longer sets goes back to Coffer's my.cnf value (flavor tuning, utf8mb4, ...), else to
 * the value it had before the group set it (saved beside the overrides), else to the engine's
 * DEFAULT. Read-only variables (READ_ONLY = YES) change only with a restart: apply names those
 * whose wanted value differs from the running one.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import * as mysql from 'mysql2/promise'
import type { ConfigurationValues, ParameterSpec, ParameterValue } from '../../../core/configuration.js'
import { BadRequest, errorMessage } from '../../../core/errors.js'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { writeFileAtomic } from '../common/files.js'
import { throwawayFailed } from '../common/engine-errors.js'
import { tailFile } from '../common/log-tail.js'
import { overridesFile } from '../common/overrides-file.js'
import { isAlive, spawnDetached } from '../common/process.js'
import { serialised } from '../common/serialise.js'
import { readFromThrowaway } from '../common/throwaway-engine.js'
import type { ConfigurationAdmin, InstanceContext, OsAccount } from '../datastore.js'
import type { MysqlClient } from './client.js'
import { cofferSettings } from './config.js'
import { type MysqlFamilyServer, SERVICE_USER } from './manifest.js'
import { MARIADB_LOCALES } from './locales.js'
import { catalogFromVariables, cnfName, MARIADB_PARAMETERS, type MariadbNames, type MariadbVariableRow, NAMES_QUERIES, refused, sameValue, sqlValue, SYSTEM_VARIABLES_QUERY,
  withUtf8Aliases } from './parameters.js'
import { withService } from './service-account.js'
import { ensureTemplate, TEMPLATE_LOG_FILE_SIZE } from './template.js'
import { mariadbTuning } from './tuning.js'

type Node = { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }

/**
 * What Coffer saves per instance: the group's values, and for parameters Coffer's my.cnf does not
 * set, the value each had before the group first set it (`before`), to go back to.
 */
interface Saved {
  readonly values: ConfigurationValues
  readonly before: Readonly<Record<string, string>>
}

/** The file of `server`'s saved overrides (`server` is the datastore's name). */
const savedFile = (server: string) => overridesFile<Partial<Saved>>(`${server}-configuration.json`, {})
const complete = (saved: Partial<Saved>): Saved => ({ values: saved.values ?? {}, before: saved.before ?? {} })
const readSaved = async (ctx: InstanceContext, server: string): Promise<Saved> => complete(await savedFile(server).read(ctx))

/** The instance's saved overrides ({} when it has none); `server` is the datastore's name. */
export const readOverrides = async (ctx: InstanceContext, server = 'mariadb'): Promise<ConfigurationValues> => (await readSaved(ctx, server)).values

/** Same as readOverrides, for effectiveConfiguration, which is synchronous (a file of a few hundred bytes). */
export const readOverridesSync = (ctx: InstanceContext, server = 'mariadb'): ConfigurationValues => complete(savedFile(server).readSync(ctx)).values

// ---- catalog ----

/** What the catalog is made from, as cached. */
interface CatalogSource {
  readonly variables: MariadbVariableRow[]
  readonly names: MariadbNames
}

const cacheFile = (node: Node): string => join(node.cacheDir, `mariadb-${node.version.versionNumber}-catalog.json`)
const tmpPrefix = (node: Node): string => `mariadb-${node.version.name}-variables.tmp-`
// One read per version at a time in this process, as readFromThrowaway requires.
const reading = new Map<string, Promise<CatalogSource>>()

/** SYSTEM_VARIABLES and the names: from the cache, else from a throwaway server (then cached). */
function sourceOf(server: MysqlFamilyServer, node: Node): Promise<CatalogSource> {
  const file = cacheFile(node)
  let p = reading.get(file)
  if (!p) {
    // A missing or unreadable cache (a crash mid-write cannot leave one: it is renamed into place) is read again.
    p = readFile(file, 'utf8')
      .then((t) => JSON.parse(t) as CatalogSource)
      .catch(() => readFromEngine(server, node))
      .finally(() => reading.delete(file))
    reading.set(file, p)
  }
  return p
}

/** The names the engine takes for character sets, collations, locales and time zones (see MariadbNames). */
export async function readNames(c: MysqlClient): Promise<MariadbNames> {
  const list = async (sql: string): Promise<string[]> => (await c.query<mysql.RowDataPacket[]>(sql))[0].map((r) => String(r.name))
  // LOCALES exists only with the `locales` plugin loaded; its list is fixed per version anyway.
  const locales = await list(NAMES_QUERIES.locales).catch(() => [] as string[])
  const names = {
    characterSets: await list(NAMES_QUERIES.characterSets),
    collations: await list(NAMES_QUERIES.collations),
    locales: locales.length > 0 ? locales : [...MARIADB_LOCALES],
    timeZones: await list(NAMES_QUERIES.timeZones),
  }
  return withUtf8Aliases(names, await globalOf(c, 'old_mode'))
}

async function readFromEngine(server: MysqlFamilyServer, node: Node): Promise<CatalogSource> {
  const template = await ensureTemplate(node.cacheDir, server, node.version, node.account)
  const source = await readFromThrowaway({
    cacheDir: node.cacheDir,
    prefix: tmpPrefix(node),
    template,
    account: node.account,
    processName: server.processName,
    pidFile: join('run', 'mysqld.pid'),
    stopSteps: [['SIGTERM', 60_000], ['SIGKILL', 10_000]],
    start: ({ dir, dataDir, runDir }) =>
      spawnDetached({
        command: server.serverBinary,
        // No TCP at all, a small footprint; the template's own redo size, so nothing is resized.
        // The locales plugin only adds information_schema.LOCALES; a server without it still starts.
        args: ['--no-defaults', `--datadir=${dataDir}`, `--socket=${join(runDir, 'mysqld.sock')}`, `--pid-file=${join(runDir, 'mysqld.pid')}`,
          `--log-error=${join(runDir, 'error.log')}`, `--tmpdir=${runDir}`, '--skip-networking', '--innodb-buffer-pool-size=16M',
          `--innodb-log-file-size=${TEMPLATE_LOG_FILE_SIZE}`, '--key-buffer-size=1M', '--aria-pagecache-buffer-size=1M', '--plugin-load-add=locales'],
        account: node.account,
        logFile: join(dir, 'console.log'),
      }),
    read: async ({ runDir }, pid) => {
      const client = await waitReady(pid, runDir, template.password)
      try {
        const [result] = await client.query<(mysql.RowDataPacket & MariadbVariableRow)[]>(SYSTEM_VARIABLES_QUERY)
        return { variables: result.map((r) => ({ ...r })), names: await readNames(client) }
      } finally {
        await client.end().catch(() => client.destroy())
      }
    },
  })
  // Cached only once the throwaway is gone: a crash before this leaves no cache, so the next call
  // reads again and its clean-up stops whatever the crash left running.
  await writeFileAtomic(cacheFile(node), JSON.stringify(source), { mode: 0o644 })
  return source
}

/** Logs in on the throwaway's socket once it answers; rejects when it exits or takes over 60 s. */
async function waitReady(pid: number, run: string, password: string): Promise<MysqlClient> {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      const c = await mysql.createConnection({ socketPath: join(run, 'mysqld.sock'), user: SERVICE_USER, password, connectTimeout: 2_000 })
      c.on('error', () => undefined)
      return c
    } catch (err) {
      // An SQL state means the server answered and refused: it will not get better.
      if ((err as { sqlState?: unknown }).sqlState !== undefined) throw err
    }
    const log = async (): Promise<string> => tailFile(join(run, 'error.log'))
    if (!(await isAlive(pid))) throw throwawayFailed('MariaDB for the parameter catalog', true, await log())
    if (Date.now() > deadline) throw throwawayFailed('MariaDB for the parameter catalog', false, await log())
    await sleep(5)
  }
}

// ---- apply ----

interface LiveVariable {
  readonly name: string
  readonly type: string
  readonly readOnly: string
  readonly running: string | null
  readonly defaultValue: string | null
}

/** The engine's codes for a value it refuses (wrong value or type, unknown set, collation, zone, locale). */
const REFUSALS = new Set(['ER_WRONG_VALUE_FOR_VAR', 'ER_WRONG_TYPE_FOR_VAR', 'ER_UNKNOWN_CHARACTER_SET', 'ER_UNKNOWN_COLLATION', 'ER_UNKNOWN_TIME_ZONE', 'ER_UNKNOWN_LOCALE', 'ER_WRONG_ARGUMENTS'])

async function liveVariables(c: MysqlClient, names: readonly string[]): Promise<Map<string, LiveVariable>> {
  if (names.length === 0) return new Map()
  const [rows] = await c.query<(mysql.RowDataPacket & LiveVariable)[]>(
    `SELECT LOWER(VARIABLE_NAME) AS name, VARIABLE_TYPE AS type, READ_ONLY AS readOnly, GLOBAL_VALUE AS running, DEFAULT_VALUE AS defaultValue
      FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN (?)`, [names.map((n) => n.toUpperCase())])
  return new Map(rows.map((r) => [r.name, { ...r }]))
}

const globalOf = async (c: MysqlClient, name: string): Promise<string> =>
  String((await c.query<mysql.RowDataPacket[]>(`SELECT @@GLOBAL.${mysql.escapeId(name)} AS v`))[0][0]?.v)

/**
 * SET GLOBAL for every live (not read-only) variable in `live` to `wanted(name)`: DEFAULT when
 * that is undefined, left as it is when null. Names come only from the allow-list, quoted with
 * escapeId; values travel as placeholders. Rejects with BadRequest when the engine refuses a value.
 */
async function setGlobals(c: MysqlClient, live: ReadonlyMap<string, LiveVariable>, wanted: (name: string) => ParameterValue | null | undefined): Promise<void> {
  // Sorted, so character_set_server comes before collation_server: a character set brings its
  // default collation, which a collation of the group's then replaces.
  for (const name of [...live.keys()].sort()) {
    const v = live.get(name)
    if (!MARIADB_PARAMETERS.has(name) || !v || v.readOnly === 'YES') continue
    const value = wanted(name)
    if (value === null) continue
    // A collation also sets the character set: one of another set would undo the group's set.
    const charset = name === 'collation_server' ? await globalOf(c, 'character_set_server') : undefined
    try {
      await c.query(value === undefined ? `SET GLOBAL ${mysql.escapeId(name)} = DEFAULT` : mysql.format(`SET GLOBAL ${mysql.escapeId(name)} = ?`, [sqlValue(value, v.type)]))
    } catch (err) {
      if (REFUSALS.has((err as { code?: string }).code ?? '')) throw new BadRequest(`MariaDB refused the value for the configuration parameter ${name}: ${errorMessage(err)}`)
      throw err
    }
    if (charset !== undefined && (await globalOf(c, 'character_set_server')) !== charset) {
      throw new BadRequest(`The collation ${String(value)} for the configuration parameter collation_server is not one of the character set ${charset}.`)
    }
  }
}

/** The configuration admin of a MySQL-family `server` (MariaDB's in index.ts). */
export function mariadbConfiguration(server: MysqlFamilyServer): ConfigurationAdmin {
  const writeSaved = savedFile(server.name).write
  const baseValues = (ctx: InstanceContext): Map<string, string> =>
    new Map(cofferSettings(mariadbTuning(ctx.flavor), server.engineSettings).map(([k, v]) => [k.replace(/-/g, '_'), v]))

  async function applyUnlocked(ctx: InstanceContext, values: ConfigurationValues): Promise<{ restartRequired: string[] }> {
    const refusal = refused(values, ctx.flavor.ramMb)
    if (refusal) throw new BadRequest(refusal)
    const previous = await readSaved(ctx, server.name)
    const base = baseValues(ctx)
    const touched = [...new Set([...Object.keys(previous.values), ...Object.keys(values)])].filter((n) => MARIADB_PARAMETERS.has(n))
    // Changing the character set also changes the collation, which must then be set again.
    if (touched.includes('character_set_server') && !touched.includes('collation_server')) touched.push('collation_server')
    // What a parameter goes back to: Coffer's my.cnf value, else what it had before the group set
    // it. Not DEFAULT: for auto-sized ones that is a sentinel (innodb_io_capacity_max: 4294967295
    // where the engine chose 2000) or ignores other settings (thread_cache_size: 256, not max_connections).
    const wanted = (from: ConfigurationValues, before: Saved['before']) => (name: string): ParameterValue | null | undefined =>
      // A collation the group leaves unset follows the group's character set (see parameters.ts cnfOverrides).
      name === 'collation_server' && !(name in from) && 'character_set_server' in from ? null : from[name] ?? base.get(cnfName(name)) ?? before[name]
    return withService(ctx, async (c) => {
      const live = await liveVariables(c, touched)
      const before: Record<string, string> = { ...previous.before }
      for (const name of Object.keys(values)) {
        const running = live.get(name)?.running
        if (!(name in previous.values) && !base.has(cnfName(name)) && !(name in before) && running != null) before[name] = running
      }
      await writeSaved(ctx, { values, before })
      try {
        await setGlobals(c, live, wanted(values, before))
      } catch (err) {
        // Put back what was there, in the file and (best effort) in the engine, so a refused value changes nothing.
        await writeSaved(ctx, previous)
        await setGlobals(c, live, wanted(previous.values, before)).catch(() => undefined)
        throw err
      }
      // Read-only ones wait for the next start, which renders my.cnf from the saved overrides.
      const target = wanted(values, before)
      const restartRequired = [...live.values()]
        .filter((v) => v.readOnly === 'YES' && v.running !== null && !sameValue(target(v.name) ?? v.defaultValue ?? v.running, v.running))
        .map((v) => v.name)
        .sort()
      // What the group no longer sets is back (or will be at the next start): forget its old value.
      await writeSaved(ctx, { values, before: Object.fromEntries(Object.entries(before).filter(([n]) => n in values)) })
      return { restartRequired }
    })
  }

  return {
    catalog: async (node: Node): Promise<ParameterSpec[]> => {
      const { variables, names } = await sourceOf(server, node)
      return catalogFromVariables(variables, names)
    },
    // Same queue as start and stop (manager.ts keys it by volumeDir): a start never renders half an apply.
    apply: (ctx: InstanceContext, values: ConfigurationValues) => serialised(ctx.volumeDir, () => applyUnlocked(ctx, values)),
  }
}
