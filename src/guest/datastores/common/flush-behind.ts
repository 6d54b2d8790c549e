/**
 * Durable writes without a long flush at the end: while a restore writes (a child unpacking into a
 * file or a folder), the written data is flushed every quarter second, so the disk works beside
 * the writer; the closing flush then finds little left. A 1 GiB file flushed only at its end cost
 * a further 0.5-0.6 s on a loop volume; flushed behind, 0.05 s.
 */
import type { FileHandle } from 'node:fs/promises'
import { syncFileSystem } from './files.js'

const EVERY_MS = 250

/** Runs `work` while `flush` runs every EVERY_MS (never two at once); then one last flush. */
async function flushingBehind<T>(work: Promise<T>, flush: () => Promise<void>): Promise<T> {
  let flushing: Promise<void> | undefined
  const timer = setInterval(() => {
    // A failed flush here is no verdict: the closing flush below reports it.
    flushing ??= flush().catch(() => undefined).finally(() => (flushing = undefined))
  }, EVERY_MS)
  try {
    return await work
  } finally {
    clearInterval(timer)
    await flushing
  }
}

/** `work` writes the open `file`: its data is flushed as it goes and fully (fsync) once `work` ends well. */
export async function writeFileFlushed<T>(file: FileHandle, work: Promise<T>): Promise<T> {
  const result = await flushingBehind(work, () => file.datasync())
  await file.sync()
  return result
}

/**
 * `work` writes files under `path` (a volume) without fsyncs of its own (`mbstream -x`): the file
 * system is flushed (syncfs) as it goes and once more when `work` ends well.
 */
export async function writeTreeFlushed<T>(path: string, work: Promise<T>): Promise<T> {
  const result = await flushingBehind(work, () => syncFileSystem(path))
  await syncFileSystem(path)
  return result
}
