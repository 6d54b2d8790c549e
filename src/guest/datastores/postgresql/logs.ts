/**
 * PostgreSQL's guest logs. The engine writes one file a day (`log/postgresql-<day>.log`, see
 * config.ts); three logs are read from it by what each entry says: `general` (every statement,
 * `log_statement = all`), `slow_query` (statements over a second, `log_min_duration_statement`,
 * Trove's default `guest_log_long_query_time`) and the SYS log `error` (everything else: start,
 * stop, errors). Switches are saved in the guest folder and rendered into postgresql.conf at every
 * start; a configuration group's own value for the same setting (postgresql.auto.conf) wins.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { overridesFile } from '../common/overrides-file.js'
import { serialised } from '../common/serialise.js'
import type { GuestLogDefinition, InstanceContext, LogAdmin } from '../datastore.js'
import { writeConfig } from './manager.js'
import { SERVICE_USER } from './manifest.js'
import { withService } from './service-account.js'

type Switches = Record<string, boolean>
const switches = overridesFile<Switches>('postgresql-logs.json', {})

/** What each USER log sets when on; off puts the engine's default back. */
const SETTINGS: Readonly<Record<string, readonly [name: string, on: string, off: string]>> = {
  general: ['log_statement', 'all', 'none'],
  slow_query: ['log_min_duration_statement', '1000', '-1'],
}

/** postgresql.conf lines for the logs a client turned on. */
export function renderLogSettings(saved: Switches): string {
  const lines = Object.entries(SETTINGS).filter(([log]) => saved[log]).map(([, [name, on]]) => `${name} = '${on}'`)
  return lines.length ? `# Guest logs a client enabled\n${lines.join('\n')}\n` : ''
}

/** The saved switches, for the start that renders postgresql.conf. */
export const readLogSwitches = (ctx: InstanceContext): Promise<Switches> => switches.read(ctx)

const logDir = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log')

/** The day's file the collector writes to now: the newest one (the collector names it by weekday). */
async function currentFile(ctx: InstanceContext): Promise<string> {
  const names = (await readdir(logDir(ctx)).catch(() => [] as string[])).filter((n) => /^postgresql-\w+\.log$/.test(n))
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(logDir(ctx), n)).catch(() => undefined))?.mtimeMs ?? 0 })))
  const newest = dated.sort((a, b) => b.t - a.t)[0]?.n
  return join(logDir(ctx), newest ?? `postgresql-${new Date().toUTCString().slice(0, 3)}.log`)
}

const isStatement = (entry: string): boolean => / LOG: {2}statement: /.test(entry)
const isDuration = (entry: string): boolean => / LOG: {2}duration: /.test(entry)

const logs: readonly GuestLogDefinition[] = [
  { name: 'general', type: 'USER', file: currentFile, keep: isStatement },
  { name: 'slow_query', type: 'USER', file: currentFile, keep: isDuration },
  { name: 'error', type: 'SYS', file: currentFile, keep: (e) => !isStatement(e) && !isDuration(e) },
]

export const postgresqlLogs: LogAdmin = {
  logs,
  async enabled(ctx, name) {
    const setting = SETTINGS[name]
    if (!setting) return false
    // From the files the engine applied (a group's value included), not this session's: the
    // service account's own role turns the logs off for itself.
    const shown = await withService(ctx, (c) =>
      c.query<{ setting: string }>('SELECT setting FROM pg_file_settings WHERE name = $1 AND applied ORDER BY seqno DESC LIMIT 1', [setting[0]]),
    )
    const value = shown.rows[0]?.setting
    return value !== undefined && value !== setting[2]
  },
  // Same queue as start and configuration applies (keyed by volumeDir): postgresql.conf is written by one at a time.
  setEnabled: (ctx, name, on) =>
    serialised(ctx.volumeDir, async () => {
      const saved = await switches.read(ctx)
      await switches.write(ctx, { ...saved, [name]: on })
      await writeConfig(ctx)
      await withService(ctx, async (c) => {
        // Coffer's own statements (heartbeats, hashed passwords) are not the tenant's log: a role setting wins over the file.
        for (const [setting, , off] of Object.values(SETTINGS)) await c.query(`ALTER ROLE ${c.escapeIdentifier(SERVICE_USER)} SET ${setting} = ${c.escapeLiteral(off)}`)
        await c.query('SELECT pg_reload_conf()')
      })
    }),
}
