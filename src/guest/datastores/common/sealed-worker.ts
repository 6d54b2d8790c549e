/**
 * The worker thread's side of sealed-in-worker.ts: one job (a put or an unseal on the fs store),
 * run with the same code as on the server's thread, told back as messages. An `abort` message
 * fails the job; it then leaves nothing behind, as on the server's thread.
 */
import type { ChildProcess } from 'node:child_process'
import { parentPort, workerData } from 'node:worker_threads'
import { CofferError, errorMessage } from '../../../core/errors.js'
import { FsObjectStore } from '../../../storage/fs/fs-object-store.js'
import type { SealedJob, WorkerMessage } from './sealed-in-worker.js'
import { putSealedHere, unsealIntoHere, type SealedResult } from './sealed-objects.js'

const job = workerData as SealedJob
const port = parentPort!
const say = (m: WorkerMessage): void => port.postMessage(m)
const aborted = new AbortController()
port.on('message', (m: { type?: string }) => {
  if (m.type === 'abort') aborted.abort()
})

const store = new FsObjectStore(job.root)
const dataKey = Buffer.from(job.dataKey)
const options = {
  signal: aborted.signal,
  onProgress: (bytes: number) => say({ type: 'progress', bytes }),
  // The server kills zstd by its pid on a cancel, and forgets the pid once zstd is gone.
  onSpawned: (zstd: ChildProcess) => {
    zstd.once('exit', () => say({ type: 'zstd-exited' }))
    say({ type: 'spawned', ...(zstd.pid !== undefined ? { pid: zstd.pid } : {}) })
  },
}
const work: Promise<SealedResult | undefined> =
  job.op === 'put'
    ? putSealedHere(store, job.key, { input: job.fd, done: Promise.resolve() }, dataKey, { ...options, ...(job.level !== undefined ? { level: job.level } : {}) })
    : unsealIntoHere(store, job.key, dataKey, job.name, job.fd, options).then(() => undefined)

work.then(
  (value) => say({ type: 'result', ...(value ? { value } : {}) }),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err))
    say({
      type: 'error',
      error: {
        name: e.name,
        message: errorMessage(err),
        ...(err instanceof CofferError ? { code: err.code, retryable: err.retryable, ...(err.details !== undefined ? { details: err.details } : {}) } : {}),
      },
    })
  },
).finally(() => port.close())
