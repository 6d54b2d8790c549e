/**
 * Trove's guest log actions on one instance, for any datastore with a `logs` part: which logs there
 * are and their status, enable and disable (the datastore's own switches), publish (the lines
 * written since the last publish, passwords taken out, copied to the LogStore), discard (the
 * published copies removed) and read (the published copy, for tail and save). What has been
 * published is kept in a metafile beside the copies, as Trove keeps it in Swift.
 */
import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { BadRequest, NotFound } from '../core/errors.js'
import { redactSecrets } from '../guest/datastores/common/redact-secrets.js'
import { serialised } from '../guest/datastores/common/serialise.js'
import type { GuestLogDefinition, InstanceContext, LogAdmin } from '../guest/datastores/datastore.js'
import type { GuestLogContents, GuestLogInfo, GuestLogStatus, LogOp } from '../guest/protocol.js'
import type { LogStore } from './log-store.js'

/** Trove's default `guest_log_container_name`. */
export const LOG_CONTAINER = 'database_logs'

/** Most bytes read from an engine's file in one publish; the rest waits for the next. */
const PUBLISH_LIMIT = 16 * 1024 * 1024

interface Metafile {
  readonly log_name: string
  readonly log_type: string
  /** The engine's file the published bytes came from (relative to the volume). */
  readonly log_file: string
  /** Bytes of that file published so far. */
  readonly log_size: number
  /** md5 of its first line: another first line means the engine started a new file. */
  readonly log_header_digest: string
}

interface FileNow {
  readonly path: string
  readonly size: number
  readonly header: string
}

export class GuestLogs {
  readonly #part: LogAdmin
  readonly #store: LogStore
  readonly #datastore: string

  constructor(part: LogAdmin, store: LogStore, datastore: string) {
    this.#part = part
    this.#store = store
    this.#datastore = datastore
  }

  run(ctx: InstanceContext, op: LogOp): Promise<unknown> {
    if (op.op === 'list') return Promise.all(this.#part.logs.map((d) => this.#show(ctx, d)))
    const def = this.#part.logs.find((d) => d.name === op.name)
    if (!def) throw new NotFound(`Log '${op.name}' is not defined for datastore ${this.#datastore}; there are: ${this.#part.logs.map((d) => d.name).join(', ')}.`)
    // One change at a time per log: two publishes must not copy the same lines twice.
    return serialised(`log:${ctx.instanceId}:${def.name}`, async () => {
      switch (op.op) {
        case 'show':
          return this.#show(ctx, def)
        case 'enable':
        case 'disable':
          if (def.type === 'SYS') throw new BadRequest(`Log '${def.name}' is a SYS log: it is always on and cannot be ${op.op}d.`)
          await this.#part.setEnabled(ctx, def.name, op.op === 'enable')
          return this.#show(ctx, def)
        case 'publish':
          await this.#publish(ctx, def)
          return this.#show(ctx, def)
        case 'discard':
          await this.#discard(ctx, def)
          return this.#show(ctx, def)
        case 'read':
          return this.#read(ctx, def, op.lines, op.from)
      }
    })
  }

  #prefix(def: GuestLogDefinition, ctx: InstanceContext): string {
    return `${ctx.instanceId}/${this.#datastore}-${def.name}/`
  }

  #metafileKey(def: GuestLogDefinition, ctx: InstanceContext): string {
    return `${this.#prefix(def, ctx).replace(/\/$/, '')}_metafile`
  }

  async #meta(ctx: InstanceContext, def: GuestLogDefinition): Promise<Metafile | undefined> {
    const text = await this.#store.get(this.#metafileKey(def, ctx))
    return text === undefined ? undefined : (JSON.parse(text) as Metafile)
  }

  async #fileNow(ctx: InstanceContext, def: GuestLogDefinition): Promise<FileNow> {
    const path = await def.file(ctx)
    const size = (await stat(path).catch(() => undefined))?.size ?? 0
    return { path, size, header: size > 0 ? await firstLineDigest(path) : '' }
  }

  async #show(ctx: InstanceContext, def: GuestLogDefinition): Promise<GuestLogInfo> {
    await def.collect?.(ctx)
    const [file, meta] = await Promise.all([this.#fileNow(ctx, def), this.#meta(ctx, def)])
    const published = meta?.log_size ?? 0
    const rotated = published > 0 && meta !== undefined && (file.size < published || meta.log_header_digest !== file.header || meta.log_file !== volumeRelative(ctx, file.path))
    const enabled = def.type === 'SYS' || (await this.#part.enabled(ctx, def.name))
    // Trove's order (guest_log.py _update_details): rotation, then what is left to publish, then off or empty.
    let status: GuestLogStatus = rotated ? 'Rotated' : file.size > published ? (published ? 'Partial' : 'Ready') : published ? 'Published' : 'Enabled'
    if (file.size === 0 || !enabled) status = def.type === 'USER' ? (enabled ? 'Enabled' : 'Disabled') : 'Unavailable'
    const any = published > 0
    return {
      name: def.name,
      type: def.type,
      status,
      published,
      pending: rotated ? file.size : Math.max(0, file.size - published),
      container: any ? LOG_CONTAINER : 'None',
      prefix: any ? this.#prefix(def, ctx) : 'None',
      metafile: this.#metafileKey(def, ctx),
    }
  }

  async #publish(ctx: InstanceContext, def: GuestLogDefinition): Promise<void> {
    // Trove enables a USER log that is published; a later publish then has lines to copy.
    if (def.type === 'USER' && !(await this.#part.enabled(ctx, def.name))) await this.#part.setEnabled(ctx, def.name, true)
    await def.collect?.(ctx)
    const [file, meta] = await Promise.all([this.#fileNow(ctx, def), this.#meta(ctx, def)])
    const relPath = volumeRelative(ctx, file.path)
    const sameFile = meta !== undefined && meta.log_file === relPath && meta.log_header_digest === file.header && file.size >= meta.log_size
    // A new file (rotated, or started again) is published from its start; earlier copies stay.
    const from = sameFile ? meta.log_size : 0
    const { text, consumed } = await readWholeLines(file.path, from, Math.min(file.size, from + PUBLISH_LIMIT))
    if (consumed === 0 && sameFile) return
    const kept = def.keep ? entries(text).filter((e) => def.keep!(e)).join('') : text
    if (kept !== '') await this.#store.put(`${this.#prefix(def, ctx)}log-${new Date().toISOString()}`, redactSecrets(kept))
    const next: Metafile = { log_name: def.name, log_type: def.type, log_file: relPath, log_size: from + consumed, log_header_digest: file.header }
    await this.#store.put(this.#metafileKey(def, ctx), JSON.stringify(next))
  }

  async #discard(ctx: InstanceContext, def: GuestLogDefinition): Promise<void> {
    for (const key of await this.#store.list(this.#prefix(def, ctx))) await this.#store.delete(key)
    await this.#store.delete(this.#metafileKey(def, ctx))
  }

  /** The published copy of a log: its objects in order, from byte `from`, the last `lines` lines. */
  async #read(ctx: InstanceContext, def: GuestLogDefinition, lines: number | undefined, from: number | undefined): Promise<GuestLogContents> {
    const keys = await this.#store.list(this.#prefix(def, ctx))
    const all = Buffer.from((await Promise.all(keys.map(async (k) => (await this.#store.get(k)) ?? ''))).join(''), 'utf8')
    let text = all.subarray(Math.min(Math.max(0, from ?? 0), all.length)).toString('utf8')
    if (lines !== undefined && lines > 0) {
      const ended = text.endsWith('\n')
      const all_ = (ended ? text.slice(0, -1) : text).split('\n')
      text = all_.slice(-lines).join('\n') + (ended ? '\n' : '')
    }
    return { text, end: all.length }
  }
}

/** The file's path under the volume: what the metafile records, so no host path leaves the node. */
const volumeRelative = (ctx: InstanceContext, path: string): string => (path.startsWith(`${ctx.volumeDir}/`) ? path.slice(ctx.volumeDir.length + 1) : path.split('/').at(-1) ?? path)

async function firstLineDigest(path: string): Promise<string> {
  const fh = await open(path, 'r').catch(() => undefined)
  if (!fh) return ''
  try {
    const buf = Buffer.alloc(4096)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
    const head = buf.subarray(0, bytesRead)
    const nl = head.indexOf(0x0a)
    return createHash('md5').update(nl >= 0 ? head.subarray(0, nl) : head).digest('hex')
  } finally {
    await fh.close()
  }
}

/** The text of bytes [from, to) up to the last line break in them, and how many bytes that is. */
async function readWholeLines(path: string, from: number, to: number): Promise<{ text: string; consumed: number }> {
  if (to <= from) return { text: '', consumed: 0 }
  const fh = await open(path, 'r').catch(() => undefined)
  if (!fh) return { text: '', consumed: 0 }
  try {
    const buf = Buffer.alloc(to - from)
    const { bytesRead } = await fh.read(buf, 0, buf.length, from)
    const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a) + 1
    return { text: buf.subarray(0, end).toString('utf8'), consumed: end }
  } finally {
    await fh.close()
  }
}

/** Lines grouped into entries: a line and the indented lines that continue it (a statement over several lines). */
function entries(text: string): string[] {
  const out: string[] = []
  for (const line of text.split(/(?<=\n)/)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1] += line
    else out.push(line)
  }
  return out
}
