/**
 * The sealed pipeline on a worker thread, for the fs store and a source or output that is a
 * descriptor (a tool's pipe, an open file): the worker spawns zstd on that descriptor and holds
 * every byte itself, so none of the data's Buffers land in the server's heap. There each GiB
 * streamed cost about fifty full collections of the whole heap (12-35 ms each, triggered by
 * external memory); the worker's heap is a few MiB. sealed-worker.ts is the worker's side.
 */
import type { Readable, Writable } from 'node:stream'
import { Worker } from 'node:worker_threads'
import { CofferError, type ErrorCode } from '../../../core/errors.js'
import { FsObjectStore } from '../../../storage/fs/fs-object-store.js'
import type { ObjectStore } from '../../../storage/object-store.js'
import type { DirectSource, SealedResult, SealOptions } from './sealed-objects.js'

const WORKER = new URL('./sealed-worker.js', import.meta.url)

/** What the worker is given. */
export type SealedJob =
  | { readonly op: 'put'; readonly root: string; readonly key: string; readonly fd: number; readonly dataKey: Uint8Array; readonly level?: number }
  | { readonly op: 'unseal'; readonly root: string; readonly key: string; readonly fd: number; readonly dataKey: Uint8Array; readonly name: string }

/** What the worker says: zstd runs, how far it got, and how it ended. */
export type WorkerMessage =
  | { readonly type: 'spawned'; readonly pid?: number }
  | { readonly type: 'zstd-exited' }
  | { readonly type: 'progress'; readonly bytes: number }
  | { readonly type: 'result'; readonly value?: SealedResult }
  | { readonly type: 'error'; readonly error: { readonly name: string; readonly message: string; readonly code?: ErrorCode; readonly retryable?: boolean; readonly details?: string } }

/**
 * The fs store's root and the descriptor behind `end`, when the job can go to a worker. A pipe's
 * stream starts reading as soon as it is made (net.Socket does): its reading is stopped here, in
 * the tick that made it, so every byte is left for the worker's zstd.
 */
export function workerPlan(store: ObjectStore, end: Readable | Writable | number): { root: string; fd: number } | undefined {
  if (!(store instanceof FsObjectStore)) return undefined
  if (typeof end === 'number') return { root: store.root, fd: end }
  const handle = (end as unknown as { _handle?: { fd?: number; readStop?: () => number } })._handle
  if (typeof handle?.fd !== 'number' || handle.fd < 0) return undefined
  if ('read' in end) {
    if ((end as Readable).readableLength > 0) return undefined // already read from: those bytes are here
    handle.readStop?.()
  }
  return { root: store.root, fd: handle.fd }
}

/**
 * putSealed of a direct source on a worker. `remove` deletes the object when the tool fails after
 * the worker stored it (its stream then ended early but well-formed).
 */
export async function putInWorker(root: string, key: string, source: DirectSource, fd: number, dataKey: Buffer, options: SealOptions, remove: () => Promise<void>): Promise<SealedResult> {
  const job = run({ op: 'put', root, key, fd, dataKey, ...(options.level !== undefined ? { level: options.level } : {}) }, options, () => {
    if (typeof source.input !== 'number') source.input.destroy() // zstd has it now; a dead zstd must not leave the tool blocked
  })
  let toolError: unknown
  const toolFailed = source.done.then(
    () => false,
    (err: unknown) => {
      toolError = err
      job.abort()
      return true
    },
  )
  let value: SealedResult
  try {
    value = (await job.result)!
  } catch (err) {
    throw toolError ?? err
  }
  if (await toolFailed) {
    await remove().catch(() => undefined)
    throw toolError
  }
  // Cancelled as the worker finished (its last progress report, say): stored for nobody.
  if (options.signal?.aborted) {
    await remove().catch(() => undefined)
    options.signal.throwIfAborted()
  }
  return value
}

/** unsealInto an output descriptor on a worker. */
export async function unsealInWorker(root: string, key: string, dataKey: Buffer, name: string, output: Writable | number, fd: number, options: Pick<SealOptions, 'signal' | 'onProgress'>): Promise<void> {
  await run({ op: 'unseal', root, key, fd, dataKey, name }, options, () => {
    if (typeof output !== 'number') output.destroy() // zstd has it now: the tool sees the end when zstd exits
  }).result
}

/** Starts the worker on `job`; `spawned` runs once its zstd holds the descriptor. */
function run(job: SealedJob, options: Pick<SealOptions, 'signal' | 'onProgress'>, spawned: () => void): { result: Promise<SealedResult | undefined>; abort: () => void } {
  const worker = new Worker(WORKER, { workerData: job })
  let zstd: number | undefined
  let ended = false
  const abort = (): void => {
    // zstd is killed from here at once, as on the server's thread: a cancelled backup leaves no
    // process behind even while the worker is busy; the worker then fails the job and cleans up.
    if (zstd !== undefined) {
      try {
        process.kill(zstd, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    worker.postMessage({ type: 'abort' })
  }
  const result = new Promise<SealedResult | undefined>((resolve, reject) => {
    const end = (fn: () => void): void => {
      if (ended) return
      ended = true
      options.signal?.removeEventListener('abort', abort)
      fn()
    }
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'spawned') {
        zstd = m.pid
        spawned()
      } else if (m.type === 'zstd-exited') zstd = undefined
      else if (m.type === 'progress') options.onProgress?.(m.bytes)
      else if (m.type === 'result') end(() => resolve(m.value))
      else end(() => reject(revived(m.error)))
    })
    worker.once('error', (err) => end(() => reject(err)))
    worker.once('exit', (code) => end(() => reject(new CofferError('INTERNAL', `the sealing worker ended (exit code ${code}) without an answer`, { retryable: false }))))
  })
  if (options.signal?.aborted) abort()
  else options.signal?.addEventListener('abort', abort, { once: true })
  return { result, abort }
}

function revived(e: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  if (e.code) return new CofferError(e.code, e.message, { retryable: e.retryable ?? false, ...(e.details !== undefined ? { details: e.details } : {}) })
  const err = new Error(e.message)
  err.name = e.name
  return err
}
