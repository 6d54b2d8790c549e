/**
 * The MySQL family's guest logs: `general` (general_log, every statement) and `slow_query`
 * (slow_query_log, statements over long_query_time: 1 s as Trove's `guest_log_long_query_time`,
 * unless a configuration group sets it) are USER logs, each in its own file under the volume's
 * `log/`; the SYS log `error` is the server's error log. Switches are set live with SET GLOBAL,
 * saved in the guest folder and rendered into my.cnf at every start (a configuration group's value
 * for the same option wins there).
 */
import { join } from 'node:path'
import { overridesFile } from '../common/overrides-file.js'
import type { GuestLogDefinition, InstanceContext, LogAdmin } from '../datastore.js'
import { readOverrides } from './configuration.js'
import { instancePaths } from './manager.js'
import type { MysqlFamilyServer } from './manifest.js'
import { withService } from './service-account.js'

type Switches = Record<string, boolean>
const switchesOf = (server: MysqlFamilyServer) => overridesFile<Switches>(`${server.name}-logs.json`, {})

const generalFile = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log', 'general.log')
const slowFile = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log', 'slow.log')

/** Each USER log's switch and file options, and what else it sets when on. */
const OPTIONS: Readonly<Record<string, { readonly on: string; readonly file: string; readonly path: (ctx: InstanceContext) => string; readonly extra: readonly (readonly [string, string])[] }>> = {
  general: { on: 'general_log', file: 'general_log_file', path: generalFile, extra: [] },
  slow_query: { on: 'slow_query_log', file: 'slow_query_log_file', path: slowFile, extra: [['long_query_time', '1']] },
}

/** my.cnf options for the saved switches: the files always (so a group's switch writes there), the switches when on. */
export async function logCnf(ctx: InstanceContext, server: MysqlFamilyServer): Promise<Map<string, string>> {
  const saved = await switchesOf(server).read(ctx)
  const out = new Map<string, string>()
  for (const [log, o] of Object.entries(OPTIONS)) {
    out.set(o.file, o.path(ctx))
    if (!saved[log]) continue
    out.set(o.on, 'ON')
    for (const [k, v] of o.extra) out.set(k, v)
  }
  return out
}

export function mysqlFamilyLogs(server: MysqlFamilyServer): LogAdmin {
  const logs: readonly GuestLogDefinition[] = [
    { name: 'general', type: 'USER', file: async (ctx) => generalFile(ctx) },
    { name: 'slow_query', type: 'USER', file: async (ctx) => slowFile(ctx) },
    { name: 'error', type: 'SYS', file: async (ctx) => instancePaths(ctx).logFile },
  ]
  return {
    logs,
    async enabled(ctx, name) {
      const o = OPTIONS[name]
      if (!o) return false
      const [rows] = await withService(ctx, (c) => c.query(`SELECT @@GLOBAL.${o.on} AS v`))
      return Number((rows as { v: unknown }[])[0]?.v) === 1
    },
    async setEnabled(ctx, name, on) {
      const o = OPTIONS[name]
      if (!o) return
      const file = switchesOf(server)
      await file.write(ctx, { ...(await file.read(ctx)), [name]: on })
      const group = await readOverrides(ctx, server.name)
      await withService(ctx, async (c) => {
        await c.query(`SET GLOBAL ${o.file} = ?`, [o.path(ctx)])
        if (on) for (const [k, v] of o.extra) if (!(k in group)) await c.query(`SET GLOBAL ${k} = ?`, [Number(v)])
        await c.query(`SET GLOBAL ${o.on} = ${on ? 'ON' : 'OFF'}`)
      })
    },
  }
}
