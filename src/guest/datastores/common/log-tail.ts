/** Reading the end of an engine's log for error messages, engine-agnostic. */
import { open } from 'node:fs/promises'

/**
 * The last `lines` lines of the file at `path` (reading at most its last 8 kB), or "(no log)"
 * when it cannot be read. Never throws: it only decorates another error.
 */
export async function tailFile(path: string, lines = 15): Promise<string> {
  try {
    const fh = await open(path, 'r')
    try {
      const { size } = await fh.stat()
      const buf = Buffer.alloc(Math.min(size, 8192))
      await fh.read(buf, 0, buf.length, size - buf.length)
      const text = buf.toString('utf8').trimEnd()
      return text ? text.split('\n').slice(-lines).join('\n') : '(empty log)'
    } finally {
      await fh.close()
    }
  } catch {
    return '(no log)'
  }
}
