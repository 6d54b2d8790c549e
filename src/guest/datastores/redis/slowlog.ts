/**
 * Redis keeps its slow log in memory (SLOWLOG GET, at most `slowlog-max-len` entries, gone at a
 * restart). Collecting copies the entries newer than the last collected one into a file under the
 * volume's `log/`, one line each, so the slow log is published from a file like every other log.
 * The last id is saved in the guest folder with the server's run_id: ids start again at a restart.
 */
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { overridesFile } from '../common/overrides-file.js'
import { redactSecrets } from '../common/redact-secrets.js'
import { serialised } from '../common/serialise.js'
import type { InstanceContext } from '../datastore.js'
import { withService } from './client.js'

interface Collected {
  readonly runId: string
  readonly lastId: number
}
const collected = overridesFile<Collected>('redis-slowlog.json', { runId: '', lastId: -1 })

/** The file the collected entries are appended to. */
export const slowlogFile = (ctx: InstanceContext): string => join(ctx.volumeDir, 'log', 'slowlog.log')

/** One SLOWLOG GET entry: id, unix time (s), duration (µs), arguments, client address, client name. */
type Entry = [number, number, number, string[], string, string]

const REDACTED = "'***'"

/** ACL rules that carry a password or its hash: `>pw`, `<pw`, `#hash`, `!hash`. */
const isPasswordRule = (arg: string): boolean => /^[><#!]/.test(arg)

/**
 * The arguments with every password replaced, by position, so one with spaces or quotes in it is
 * taken out whole (the text patterns of redact-secrets.ts see only up to a space).
 */
export function redactArgs(args: readonly string[]): string[] {
  const lower = args.map((a) => a.toLowerCase())
  const out = [...args]
  const blank = (i: number): void => {
    if (i < out.length) out[i] = REDACTED
  }
  const [cmd, sub] = lower
  if (cmd === 'acl' && sub === 'setuser') for (let i = 3; i < out.length; i++) if (isPasswordRule(args[i]!)) blank(i)
  if (cmd === 'auth') blank(out.length - 1)
  if (cmd === 'config' && sub === 'set') for (let i = 2; i < out.length - 1; i += 2) if (/^(requirepass|masterauth)$/.test(lower[i]!)) blank(i + 1)
  // HELLO's AUTH and MIGRATE's AUTH2 take a user name, then the password; MIGRATE's AUTH the password alone.
  if (cmd === 'hello' || cmd === 'migrate') {
    lower.forEach((a, i) => {
      if (a === 'auth2' || (a === 'auth' && cmd === 'hello')) blank(i + 2)
      else if (a === 'auth') blank(i + 1)
    })
  }
  return out
}

/** An argument as redis-cli shows it: double-quoted, with escapes. */
const quote = (arg: string): string => (arg === REDACTED ? arg : JSON.stringify(arg))

/** One entry's line: time, duration, the client's address and the command. */
export function formatEntry([id, time, micros, args, addr]: Entry): string {
  const line = `${new Date(time * 1000).toISOString()} id=${id} duration=${micros}us client=${addr} ${redactArgs(args).map(quote).join(' ')}`
  return `${redactSecrets(line.replace(/\n/g, ' '))}\n`
}

/** Appends the entries the engine has that were not collected yet. Needs the engine running. */
export function collectSlowlog(ctx: InstanceContext): Promise<void> {
  return serialised(`redis-slowlog:${ctx.instanceId}`, async () => {
    const [runId, entries] = await withService(ctx, async (c) => {
      const info = String(await c.call('INFO', 'server'))
      return [/run_id:(\w+)/.exec(info)?.[1] ?? '', (await c.call('SLOWLOG', 'GET', '-1')) as Entry[]] as const
    })
    const saved = await collected.read(ctx)
    const after = saved.runId === runId ? saved.lastId : -1
    // Coffer's own commands come through the private socket (an address that is a path, cut short
    // by Redis), clients' over TCP; the log is the clients'.
    const own = (e: Entry): boolean => String(e[4]).startsWith('/')
    const fresh = entries.filter((e) => e[0] > after).sort((a, b) => a[0] - b[0])
    if (fresh.length === 0) return
    const lost = fresh[0]![0] - after - 1
    const lines = fresh.filter((e) => !own(e)).map(formatEntry)
    if (lost > 0) lines.unshift(`${new Date().toISOString()} ${lost} slow log entries were dropped by the engine (slowlog-max-len) before they were collected\n`)
    if (lines.length > 0) await appendFile(slowlogFile(ctx), lines.join(''), { mode: 0o600 })
    await collected.write(ctx, { runId, lastId: fresh.at(-1)![0] })
  })
}
