/**
 * The embedded mode's object store: one file per key under a root folder (`<home>/objects/`, 0700).
 * A put writes a partial file beside its target (`.partial-*`, which no key can name), fsyncs it and
 * renames it over the target, then fsyncs the folder: a crash leaves the old object or the new one.
 */
import { createHash, randomBytes } from 'node:crypto'
import { type FileHandle, mkdir, open, opendir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { once } from 'node:events'
import { PassThrough, type Readable } from 'node:stream'
import { NotFound } from '../../core/errors.js'
import type { VerifyReport } from '../verify-object.js'
import { checkObjectKey, checkObjectPrefix } from '../object-key.js'
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions, PutResult } from '../object-store.js'

const PARTIAL = '.partial-'
const WRITE_BATCH = 1024 * 1024
const READ_CHUNK = 1024 * 1024
const FLUSH_EVERY = 64 * 1024 * 1024

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs'

  constructor(readonly root: string) {}

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    checkObjectKey(key)
    // The body may fail before the loop below reads it (its tool dies while the file is opened):
    // without a listener that error would be thrown at the process; the loop rethrows it instead.
    body.on('error', () => undefined)
    const target = this.#path(key)
    await this.#mkdirs(dirname(target))
    const partial = join(dirname(target), `${PARTIAL}${randomBytes(8).toString('hex')}`)
    // A delete pruning an emptied folder may race this put: make the folder again once.
    const fh = await open(partial, 'wx', 0o600).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
      await this.#mkdirs(dirname(target))
      return open(partial, 'wx', 0o600)
    })
    const follower = options.readBack ? await ReadBehind.open(partial, options.readBack) : undefined
    // The read-back's tags prove each byte it hashes was the one written: hashing the writes too would only repeat it.
    const hash = follower && options.readBackAuthenticates ? undefined : createHash('sha256')
    let size = 0
    let written = 0
    // Chunks gathered into batches of WRITE_BATCH bytes, one batch written while the next is read:
    // a write per small chunk, awaited in turn, stalled the producer (the zstd child) on every one.
    let batch: Buffer[] = []
    let batched = 0
    let writing: Promise<void> = Promise.resolve()
    // Flushed behind the writes, one flush at a time: the disk works while the stream flows, and the
    // closing fsync finds little left (flushed only at the end, 0.8 GiB took a further 0.4-0.6 s).
    let flushedTo = 0
    let flushing: Promise<void> | undefined
    const write = (bufs: Buffer[], bytes: number): Promise<void> =>
      writeAll(fh, bufs).then(() => {
        written += bytes
        follower?.readTo(written)
        if (!flushing && written - flushedTo >= FLUSH_EVERY) {
          const upTo = written
          // A failed flush is no verdict: the closing fsync reports it.
          flushing = fh.datasync().then(() => void (flushedTo = upTo), () => undefined).finally(() => (flushing = undefined))
        }
      })
    try {
      for await (const chunk of body) {
        options.signal?.throwIfAborted()
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
        hash?.update(buf)
        size += buf.length
        batch.push(buf)
        batched += buf.length
        if (batched >= WRITE_BATCH) {
          await writing // at most two batches held: the back-pressure on `body`
          writing = write(batch, batched)
          writing.catch(() => undefined) // awaited before the next batch or in the catch below
          batch = []
          batched = 0
        }
      }
      await writing
      await write(batch, batched)
      const readBack = await follower?.end()
      options.signal?.throwIfAborted()
      await flushing
      await fh.sync()
      await fh.close()
      await rename(partial, target)
      await syncFolder(dirname(target))
      return { key, size, sha256: hash ? hash.digest('hex') : readBack!.sha256, ...(readBack ? { readBack } : {}) }
    } catch (err) {
      body.destroy()
      await writing.catch(() => undefined)
      await follower?.abort()
      await flushing
      await fh.close().catch(() => undefined)
      await unlink(partial).catch(() => undefined)
      await this.#pruneEmpty(dirname(target))
      throw err
    }
  }

  async get(key: string, options: { readonly range?: ByteRange } = {}): Promise<Readable> {
    checkObjectKey(key)
    const fh = await open(this.#path(key), 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EISDIR' ? missing(key) : err
    })
    if ((await fh.stat()).isDirectory()) {
      await fh.close()
      throw missing(key)
    }
    const { range } = options
    // 1 MiB reads: the 64 KiB default made a read-back or a restore a round of the event loop per 64 KiB.
    return fh.createReadStream({ highWaterMark: READ_CHUNK, ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}) })
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkObjectKey(key)
    const s = await stat(this.#path(key)).catch(() => undefined)
    return s?.isFile() ? { key, size: s.size, modifiedAt: s.mtime } : undefined
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    checkObjectPrefix(prefix)
    const limit = options.limit ?? 1000
    const cut = prefix.lastIndexOf('/')
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1)
    const keys: string[] = []
    await this.#walk(base, prefix, keys)
    // Byte order, as S3 lists: JS string order is UTF-16 code units, which differs above U+FFFF.
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    const from = options.after === undefined ? 0 : keys.findIndex((k) => Buffer.compare(Buffer.from(k), Buffer.from(options.after!)) > 0)
    const slice = from < 0 ? [] : keys.slice(from, from + limit)
    const objects: ObjectInfo[] = []
    for (const key of slice) {
      const info = await this.head(key) // a concurrent delete may have taken it: skip it then
      if (info) objects.push(info)
    }
    const more = from >= 0 && from + limit < keys.length
    const last = slice.at(-1)
    return { objects, ...(more && last !== undefined ? { next: last } : {}) }
  }

  async delete(key: string): Promise<void> {
    checkObjectKey(key)
    const path = this.#path(key)
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') throw err
    })
    await this.#pruneEmpty(dirname(path))
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkObjectKey(prefix, 'object prefix', true)
    let count = 0
    for (;;) {
      const page = await this.list(prefix)
      for (const o of page.objects) await this.delete(o.key)
      count += page.objects.length
      if (!page.next) break
    }
    // Partial files a killed process left under a folder prefix go too (a put of this process
    // under a prefix being deleted has lost its purpose anyway).
    if (prefix.endsWith('/')) {
      const dir = this.#path(prefix.slice(0, -1))
      await rm(dir, { recursive: true, force: true })
      await this.#pruneEmpty(dirname(dir))
    }
    return count
  }

  #path(key: string): string {
    return join(this.root, ...key.split('/'))
  }

  async #mkdirs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  }

  /** Keys under the folder `base` (a key prefix ending in `/`, or '') that start with `prefix`. */
  async #walk(base: string, prefix: string, into: string[]): Promise<void> {
    let entries
    try {
      entries = await readdir(this.#path(base || '.'), { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return
      throw err
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue // partial files of puts under way
      const key = base + e.name
      if (e.isDirectory()) {
        // Descend only where keys may still start with the prefix.
        if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) await this.#walk(key + '/', prefix, into)
      } else if (e.isFile() && key.startsWith(prefix)) into.push(key)
    }
  }

  /** Removes folders a delete left empty, up to the root (a put racing it recreates what it needs). */
  async #pruneEmpty(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        const d = await opendir(dir)
        const first = await d.read()
        await d.close()
        if (first) return
        await rmdir(dir)
      } catch {
        return
      }
      dir = dirname(dir)
    }
  }
}

const missing = (key: string): NotFound => new NotFound(`object ${key} is not in the object store`, 'OBJECT_NOT_FOUND')

/** Writes `bufs` in order at the file's position, however the kernel splits the writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  while (bufs.length > 0) {
    let { bytesWritten } = await fh.writev(bufs)
    while (bufs.length > 0 && bytesWritten >= bufs[0]!.length) bytesWritten -= bufs.shift()!.length
    if (bytesWritten > 0) bufs[0] = bufs[0]!.subarray(bytesWritten)
  }
}

async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Reads a file being written back through its own descriptor, up to what the writer says is
 * written, and feeds those bytes (as the file system returns them) to a read-back check: the
 * object is checked while it streams in rather than read again once whole.
 */
class ReadBehind {
  readonly #fh: FileHandle
  readonly #out = new PassThrough({ highWaterMark: READ_CHUNK })
  readonly #checking: Promise<VerifyReport>
  #readAt = 0
  #target = 0
  #reading: Promise<void> = Promise.resolve()
  #failure: unknown

  private constructor(fh: FileHandle, check: (stored: Readable) => Promise<VerifyReport>) {
    this.#fh = fh
    this.#checking = check(this.#out)
    this.#checking.catch(() => undefined)
  }

  static async open(path: string, check: (stored: Readable) => Promise<VerifyReport>): Promise<ReadBehind> {
    return new ReadBehind(await open(path, 'r'), check)
  }

  /** The writer has written `end` bytes: read them back (in order, behind the reads asked before). */
  readTo(end: number): void {
    this.#target = end
    this.#reading = this.#reading.then(() => this.#catchUp()).catch((err: unknown) => {
      this.#failure ??= err
    })
  }

  async #catchUp(): Promise<void> {
    while (this.#readAt < this.#target && !this.#out.destroyed) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, this.#target - this.#readAt))
      const { bytesRead } = await this.#fh.read(buf, 0, buf.length, this.#readAt)
      if (bytesRead === 0) throw new Error(`the file ended at ${this.#readAt} bytes while ${this.#target} were written`)
      this.#readAt += bytesRead
      // Destroyed while it read (the check failed, or the put): the rest need not be read, and no
      // 'drain' or 'close' is coming any more.
      if (this.#out.destroyed) return
      if (!this.#out.write(buf.subarray(0, bytesRead))) await Promise.race([once(this.#out, 'drain'), once(this.#out, 'close')])
    }
  }

  /** Everything is written: reads the rest back, and resolves with the check's report. */
  async end(): Promise<VerifyReport> {
    await this.#reading
    await this.#fh.close()
    if (this.#failure !== undefined) this.#out.destroy(this.#failure instanceof Error ? this.#failure : new Error(String(this.#failure)))
    else this.#out.end()
    return this.#checking
  }

  async abort(): Promise<void> {
    this.#out.destroy()
    await this.#reading
    await this.#fh.close().catch(() => undefined)
    await this.#checking.catch(() => undefined)
  }
}
