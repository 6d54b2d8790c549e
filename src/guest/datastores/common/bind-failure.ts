/**
 * Telling a start that failed because another process holds the instance's port from any other
 * failed start, engine-agnostic; each engine names the log line that says so. Only what the
 * engine wrote during this start counts: an older line in the same log may be about a port the
 * instance had before.
 */
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import type { InstanceContext } from '../datastore.js'

/** Reads at most this much of what a start appended to one log. */
const MAX_READ = 64 * 1024

/** Where an engine's logs ended before a start; `appended()` reads what was written after. */
export interface LogMark {
  appended(): Promise<string>
}

/**
 * Marks the current ends of the logs at `paths`: files, or folders standing for every file in
 * them (an engine that names its log files by date may start a new one). A file that appears
 * later counts from its start.
 */
export async function markLogs(paths: readonly string[]): Promise<LogMark> {
  const ends = new Map(await Promise.all((await logFiles(paths)).map(async (f) => [f, (await stat(f).catch(() => undefined))?.size ?? 0] as const)))
  return {
    async appended() {
      const parts = await Promise.all((await logFiles(paths)).map((f) => readFrom(f, ends.get(f) ?? 0)))
      return parts.filter(Boolean).join('\n')
    },
  }
}

async function logFiles(paths: readonly string[]): Promise<string[]> {
  const expanded = await Promise.all(
    paths.map(async (p) => {
      const entries = await readdir(p, { withFileTypes: true }).catch(() => undefined)
      return entries ? entries.filter((e) => e.isFile()).map((e) => join(p, e.name)) : [p]
    }),
  )
  return [...new Set(expanded.flat())]
}

async function readFrom(path: string, from: number): Promise<string> {
  try {
    const fh = await open(path, 'r')
    try {
      const { size } = await fh.stat()
      // A log shorter than the mark was replaced meanwhile: all of it is new.
      const start = Math.max(size < from ? 0 : from, size - MAX_READ)
      const buf = Buffer.alloc(size - start)
      await fh.read(buf, 0, buf.length, start)
      return buf.toString('utf8').trimEnd()
    } finally {
      await fh.close()
    }
  } catch {
    return ''
  }
}

/**
 * The error for an engine that exited because it could not listen on the instance's port, with the
 * end of what it wrote (`written`) for administrators. Not
 * retryable: the same port stays taken; the create workflow moves the instance to another one.
 */
export function portInUse(ctx: InstanceContext, engine: string, written: string): CofferError {
  return new CofferError('PORT_IN_USE', `${engine} of instance ${ctx.instanceId} could not listen on port ${ctx.port}: another process holds it.`, {
    retryable: false,
    details: written.split('\n').slice(-20).join('\n'),
  })
}

/**
 * The reply of a status look at an engine that answers its own login but does not hold the
 * instance's port: whatever answers there is not this instance's engine.
 */
export const notOnItsPort = (ctx: InstanceContext, pid: number) =>
  ({ state: 'running', healthy: false, pid, detail: `port ${ctx.port} is not held by this instance's engine (pid ${pid})` }) as const
