/** Reading the end of an engine's log for error messages, engine-agnostic. */
import { open, stat } from 'node:fs/promises'

/**
 * The last `lines` lines of the file at `path` (reading at most its last 8 kB), or "(no log)"
 * when it cannot be read. With `from`, only what was written after that byte offset (see
 * `logSizes`): logs are appended across starts, and an old failure must not explain a new one.
 * Never throws: it only decorates another error.
 */
export async function tailFile(path: string, lines = 15, from = 0): Promise<string> {
  try {
    const fh = await open(path, 'r')
    try {
      const { size } = await fh.stat()
      // A file shorter than the mark was replaced or truncated: all of it is new.
      const start = Math.max(size >= from ? from : 0, size - 8192)
      const buf = Buffer.alloc(size - start)
      await fh.read(buf, 0, buf.length, start)
      const text = buf.toString('utf8').trimEnd()
      return text ? text.split('\n').slice(-lines).join('\n') : '(empty log)'
    } finally {
      await fh.close()
    }
  } catch {
    return '(no log)'
  }
}

/** Each file's size now (0 when missing), taken before an engine starts: where its new lines begin. */
export async function logSizes(paths: readonly string[]): Promise<Map<string, number>> {
  const sizes = await Promise.all(paths.map(async (p) => [p, (await stat(p).catch(() => undefined))?.size ?? 0] as const))
  return new Map(sizes)
}
