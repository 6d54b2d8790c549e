/**
 * Coffer's own backup pipeline, for engines whose tools write a stream (mariadb-backup, an RDB
 * file, binary logs): the stream is compressed by `zstd` in a child process, sealed in chunks with
 * AES-256-GCM under the backup's data key, and put to the object store as it flows. Reading back
 * is the same in reverse; no byte comes out of `openSealed` before its chunk's tag was checked.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CofferError, errorMessage } from '../../../core/errors.js'
import { GcmDecryptStream, GcmEncryptStream } from '../../../storage/chunked-gcm.js'
import type { ObjectStore, PutResult } from '../../../storage/object-store.js'
import { ENGINE_ENV } from './process.js'

export interface SealOptions {
  readonly signal?: AbortSignal | undefined
  /** Bytes of `source` read so far (before compression). */
  readonly onProgress?: ((bytes: number) => void) | undefined
  /** zstd's level; 1 is the fast one a backup wants. */
  readonly level?: number
}

/** What putSealed stored, and how many bytes of plain data went in. */
export interface SealedResult extends PutResult {
  readonly plainBytes: number
}

/** Compresses, seals and stores `source` under `key`; on any failure nothing stays under `key`. */
export async function putSealed(store: ObjectStore, key: string, source: Readable, dataKey: Buffer, options: SealOptions = {}): Promise<SealedResult> {
  const zstd = spawnZstd(['-q', `-${options.level ?? 1}`, '-T0', '-c'])
  const counter = new ByteCounter(options.onProgress)
  const sealed = new PassThrough()
  const feeding = pipeline(source, counter, zstd.stdin!, options.signal ? { signal: options.signal } : {})
  const draining = pipeline(zstd.stdout!, new GcmEncryptStream(dataKey), sealed)
  const storing = store.put(key, sealed, options.signal ? { signal: options.signal } : {})
  try {
    const [put] = await Promise.all([storing, feeding, draining, exited(zstd, 'zstd (compress)')])
    return { ...put, plainBytes: counter.bytes }
  } catch (err) {
    zstd.kill('SIGKILL')
    source.destroy()
    sealed.destroy(err instanceof Error ? err : new Error(String(err)))
    await storing.catch(() => undefined)
    await store.delete(key).catch(() => undefined)
    throw err
  }
}

/**
 * The plain bytes of an object putSealed stored. A tampered, truncated or foreign object fails the
 * stream with OBJECT_CORRUPT naming `name` (a backup's id); the caller must consume it to the end
 * (or destroy it) before trusting anything it wrote from it.
 */
export async function openSealed(store: ObjectStore, key: string, dataKey: Buffer, name: string, options: Pick<SealOptions, 'signal' | 'onProgress'> = {}): Promise<Readable> {
  const body = await store.get(key)
  const zstd = spawnZstd(['-q', '-d', '-c'])
  const out = new PassThrough()
  const counter = new ByteCounter(options.onProgress)
  const fail = (err: unknown): void => {
    zstd.kill('SIGKILL')
    body.destroy()
    out.destroy(err instanceof CofferError ? err : new CofferError('OBJECT_CORRUPT', `backup ${name}: object ${key} could not be read: ${errorMessage(err)}`, { retryable: false }))
  }
  const opts = options.signal ? { signal: options.signal } : {}
  void Promise.all([
    pipeline(body, new GcmDecryptStream(dataKey, `backup ${name}`), zstd.stdin!, opts),
    pipeline(zstd.stdout!, counter, out, opts),
    exited(zstd, 'zstd (decompress)'),
  ]).catch(fail)
  return out
}

function spawnZstd(args: string[]): ChildProcess {
  return spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...ENGINE_ENV } })
}

/** Resolves when `child` exits 0; rejects with its stderr otherwise. */
export function exited(child: ChildProcess, what: string): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString('utf8')
  })
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new CofferError('BACKUP_TOOL_FAILED', `${what} could not run: ${err.message}`, { retryable: false })))
    child.once('close', (code, sig) => {
      if (code === 0) resolve()
      else reject(new CofferError('BACKUP_TOOL_FAILED', `${what} ended with ${sig ?? `exit code ${code}`}${stderr ? `: ${stderr.trim().slice(-1000)}` : ''}`, { retryable: false }))
    })
  })
}

/** Passes bytes through, counting them. */
export class ByteCounter extends Transform {
  bytes = 0
  readonly #onProgress: ((bytes: number) => void) | undefined
  #reported = 0

  constructor(onProgress?: (bytes: number) => void) {
    super()
    this.#onProgress = onProgress
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length
    // At most every 4 MiB: a progress callback per chunk would cost more than the copy.
    if (this.#onProgress && this.bytes - this.#reported >= 4 * 1024 * 1024) {
      this.#reported = this.bytes
      this.#onProgress(this.bytes)
    }
    done(null, chunk)
  }

  override _flush(done: TransformCallback): void {
    this.#onProgress?.(this.bytes)
    done()
  }
}
