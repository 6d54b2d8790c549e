/**
 * Coffer's own backup pipeline, for engines whose tools write a stream (mariadb-backup, an RDB
 * file, binary logs): the stream is compressed by `zstd` in a child process, sealed in chunks with
 * AES-256-GCM under the backup's data key, and put to the object store as it flows. Reading back
 * is the same in reverse; no byte comes out of `openSealed` before its chunk's tag was checked.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { PassThrough, Transform, type Readable, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CofferError, errorMessage } from '../../../core/errors.js'
import { DEFAULT_CHUNK, GcmDecryptStream, GcmEncryptStream } from '../../../storage/chunked-gcm.js'
import type { ObjectStore, PutResult } from '../../../storage/object-store.js'
import { readBack } from '../../../storage/verify-object.js'
import { ENGINE_ENV } from './process.js'
import { putInWorker, unsealInWorker, workerPlan } from './sealed-in-worker.js'

/** Bytes each stream of the pipeline buffers: Node's 16 KiB default meant a pause every 64 KiB pipe read. */
const STREAM_BUFFER = 1024 * 1024

export interface SealOptions {
  readonly signal?: AbortSignal | undefined
  /** Bytes of `source` read so far (before compression). */
  readonly onProgress?: ((bytes: number) => void) | undefined
  /** zstd's level; 1 is the fast one a backup wants. */
  readonly level?: number
  /** Called once zstd runs (it holds its own copy of a source or output descriptor from then on). */
  readonly onSpawned?: ((zstd: ChildProcess) => void) | undefined
}

/** What putSealed stored, and how many bytes of plain data went in. */
export interface SealedResult extends PutResult {
  readonly plainBytes: number
}

/**
 * A source zstd reads by itself, so its bytes never pass through Coffer's event loop (a hop that
 * cost a fifth of a backup's time): a tool's stdout pipe, or an open file's descriptor (read from
 * its current offset). `done` resolves once the writer ended well (a tool exited 0): a stream cut
 * short by a killed tool fails the put.
 */
export interface DirectSource {
  readonly input: Readable | number
  readonly done: Promise<void>
}

const isDirect = (source: Readable | DirectSource): source is DirectSource => 'input' in source && 'done' in source

/**
 * Compresses, seals and stores `source` under `key`; on any failure nothing stays under `key`. A
 * direct source going to the fs store is sealed on a worker thread (sealed-in-worker.ts).
 */
export async function putSealed(store: ObjectStore, key: string, source: Readable | DirectSource, dataKey: Buffer, options: SealOptions = {}): Promise<SealedResult> {
  const inWorker = isDirect(source) ? workerPlan(store, source.input) : undefined
  if (inWorker && isDirect(source)) return putInWorker(inWorker.root, key, source, inWorker.fd, dataKey, options, () => store.delete(key))
  return putSealedHere(store, key, source, dataKey, options)
}

/** putSealed on this thread. */
export async function putSealedHere(store: ObjectStore, key: string, source: Readable | DirectSource, dataKey: Buffer, options: SealOptions = {}): Promise<SealedResult> {
  const level = `-${options.level ?? 1}`
  const direct = isDirect(source) ? source : undefined
  // -vv: zstd's summary then counts the plain bytes exactly ("(N B => M B"), as Coffer no longer sees them.
  const zstd = direct
    ? spawn('zstd', ['-vv', level, '-T0', '-c'], { stdio: [direct.input, 'pipe', 'pipe'], env: { ...ENGINE_ENV } })
    : spawnZstd(['-q', level, '-T0', '-c'])
  options.onSpawned?.(zstd)
  if (direct && typeof direct.input !== 'number') direct.input.destroy() // zstd has it now; a dead zstd must not leave the tool blocked
  const counter = direct ? undefined : new ByteCounter(options.onProgress)
  const sealed = new PassThrough({ highWaterMark: STREAM_BUFFER })
  const opts = options.signal ? { signal: options.signal } : {}
  const feeding = direct ? direct.done : pipeline(source as Readable, counter!, zstd.stdin!, opts)
  const draining = pipeline(zstd.stdout!, new GcmEncryptStream(dataKey, DEFAULT_CHUNK, STREAM_BUFFER), sealed)
  // A store that can (fs) checks the tags and sha256 of what it wrote as it writes it: no second read once whole.
  // The tags authenticate every byte read back, so that store hashes only what it reads back.
  const storing = store.put(key, sealed, { ...opts, readBack: (stored) => readBack(stored, { key, dataKey }), readBackAuthenticates: true })
  // A direct source is counted from /proc as zstd reads it, from 0 the moment zstd runs (a short
  // stream on a worker thread can end before the first tick).
  if (direct) options.onProgress?.(0)
  const stopProgress = direct && options.onProgress ? pollIo(zstd, 'rchar', options.onProgress) : undefined
  const summary = direct ? lastStderr(zstd) : undefined
  try {
    const [put] = await Promise.all([storing, feeding, draining, exited(zstd, 'zstd (compress)')])
    if (counter) return { ...put, plainBytes: counter.bytes }
    const plainBytes = plainBytesOf(summary!())
    stopProgress?.()
    options.onProgress?.(plainBytes)
    return { ...put, plainBytes }
  } catch (err) {
    zstd.kill('SIGKILL')
    if (!direct) (source as Readable).destroy()
    sealed.destroy(err instanceof Error ? err : new Error(String(err)))
    await storing.catch(() => undefined)
    await store.delete(key).catch(() => undefined)
    throw err
  } finally {
    stopProgress?.()
  }
}

/** zstd -vv's closing line: `/*stdin*\ : 75.37%   (10000000 B => 7536962 B, /*stdout*\)`. */
function plainBytesOf(stderr: string): number {
  const m = /\(\s*(\d+) B =>\s*\d+ B/.exec(stderr)
  if (!m) throw new CofferError('BACKUP_TOOL_FAILED', `zstd (compress) did not say how many bytes it read: ${stderr.trim().slice(-300)}`, { retryable: false })
  return Number(m[1])
}

/** The last 4 KiB a child wrote to stderr, as it stands when called. */
function lastStderr(child: ChildProcess): () => string {
  let tail = ''
  child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-4096)))
  return () => tail
}

/**
 * Reports, ten times a second, the bytes `child` has read (`rchar` of /proc/<pid>/io: its input,
 * give or take its libraries) or written (`wchar`); returns the stop.
 */
function pollIo(child: ChildProcess, field: 'rchar' | 'wchar', onProgress: (bytes: number) => void): () => void {
  let stopped = false
  const timer = setInterval(() => {
    readFile(`/proc/${child.pid}/io`, 'utf8').then((io) => {
      const bytes = new RegExp(`^${field}: (\\d+)`, 'm').exec(io)
      if (bytes && !stopped) onProgress(Number(bytes[1]))
    }, () => undefined)
  }, 100)
  return () => {
    stopped = true
    clearInterval(timer)
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

/**
 * Unseals an object straight into `output` (a tool's stdin pipe, or an open file's descriptor):
 * zstd writes there itself, so the plain bytes never pass through Coffer's event loop. zstd only
 * ever sees bytes whose GCM tag was checked. Resolves once the whole object was checked and zstd
 * exited well; rejects with OBJECT_CORRUPT naming `name` otherwise, and then whatever `output`
 * received must be thrown away (a tool reading it sees its input end short).
 */
export async function unsealInto(store: ObjectStore, key: string, dataKey: Buffer, name: string, output: Writable | number, options: Pick<SealOptions, 'signal' | 'onProgress'> = {}): Promise<void> {
  // To the fs store's files, on a worker thread (sealed-in-worker.ts).
  const inWorker = workerPlan(store, output)
  if (inWorker) return unsealInWorker(inWorker.root, key, dataKey, name, output, inWorker.fd, options)
  return unsealIntoHere(store, key, dataKey, name, output, options)
}

/** unsealInto on this thread. */
export async function unsealIntoHere(store: ObjectStore, key: string, dataKey: Buffer, name: string, output: Writable | number, options: Pick<SealOptions, 'signal' | 'onProgress' | 'onSpawned'> = {}): Promise<void> {
  const body = await store.get(key)
  const zstd = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', output, 'pipe'], env: { ...ENGINE_ENV } })
  options.onSpawned?.(zstd)
  if (typeof output !== 'number') output.destroy() // zstd has it now: the tool sees the end when zstd exits
  const stopProgress = options.onProgress ? pollIo(zstd, 'wchar', options.onProgress) : undefined
  try {
    await Promise.all([
      pipeline(body, new GcmDecryptStream(dataKey, `backup ${name}`), zstd.stdin!, options.signal ? { signal: options.signal } : {}),
      exited(zstd, 'zstd (decompress)'),
    ])
  } catch (err) {
    zstd.kill('SIGKILL')
    body.destroy()
    throw err instanceof CofferError ? err : new CofferError('OBJECT_CORRUPT', `backup ${name}: object ${key} could not be read: ${errorMessage(err)}`, { retryable: false })
  } finally {
    stopProgress?.()
  }
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
    super({ highWaterMark: STREAM_BUFFER })
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
