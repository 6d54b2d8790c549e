/** A value read once per node and engine version (by a throwaway engine, say), cached as JSON in the node's cache. */
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from './files.js'

// One read per file at a time in this process, as readFromThrowaway requires.
const reading = new Map<string, Promise<unknown>>()

/**
 * The JSON in `file`, else what `read` resolves (then written to `file`). Written only once `read`
 * is done, so a crash before leaves no cache and the next call reads again.
 */
export function cachedRead<T>(file: string, read: () => Promise<T>): Promise<T> {
  let p = reading.get(file) as Promise<T> | undefined
  if (!p) {
    p = readFile(file, 'utf8')
      .then((t) => JSON.parse(t) as T)
      .catch(async () => {
        const value = await read()
        await writeFileAtomic(file, JSON.stringify(value), { mode: 0o644 })
        return value
      })
      .finally(() => reading.delete(file))
    reading.set(file, p)
  }
  return p
}
