/**
 * Work on whole volume trees, kept off the event loop: a volume can hold millions of files, and
 * walking or removing them in this process (even with async calls, which fill libuv's small thread
 * pool) once held back every heartbeat and API answer for over a minute. Child processes do it.
 */
import { execFile } from 'node:child_process'
import { lstat, statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** How long one measure of a volume may take before it is given up (the last figure stays). */
const MEASURE_TIMEOUT_MS = 60_000

/**
 * Removes `dir` and everything below it, never crossing into another file system mounted inside
 * (a volume's own mount stays for its owner to unmount). No error when it is already gone.
 */
export async function removeTree(dir: string): Promise<void> {
  await run('rm', ['-rf', '--one-file-system', '--', dir])
}

/**
 * The bytes used on `dir` when it is a file system of its own (a loop mount), read in one `statfs`
 * without walking it; 0 when `dir` does not exist; undefined when it lies on its parent's file
 * system, where only a walk can tell.
 */
export async function mountedUse(dir: string): Promise<number | undefined> {
  const [self, parent] = await Promise.all([lstat(dir).catch(() => undefined), lstat(dirname(dir)).catch(() => undefined)])
  if (!self) return 0
  if (!parent || self.dev === parent.dev) return undefined
  const fs = await statfs(dir)
  return (fs.blocks - fs.bfree) * fs.bsize
}

/**
 * Bytes allocated below `dir`: `mountedUse` for a volume of its own, else summed by `du` in a
 * child process. 0 when `dir` does not exist.
 */
export async function measureTree(dir: string, timeoutMs = MEASURE_TIMEOUT_MS): Promise<number> {
  const mounted = await mountedUse(dir)
  if (mounted !== undefined) return mounted
  try {
    return parseDu((await run('du', ['-s', '-B1', '--one-file-system', '--', dir], { timeout: timeoutMs })).stdout)
  } catch (err) {
    // du exits non-zero when a file vanishes while it walks (an engine rotating its log), yet its total stands.
    const { stdout, killed } = err as { stdout?: string; killed?: boolean }
    if (!killed && stdout && parseDu(stdout) >= 0) return parseDu(stdout)
    throw err
  }
}

/** The byte count of `du -s -B1`'s one line (`<bytes>\t<path>`); -1 when there is none. */
export function parseDu(stdout: string): number {
  const m = /^(\d+)\s/.exec(stdout)
  return m ? Number(m[1]) : -1
}

/**
 * Volume use per instance for heartbeats, which must answer at once: a read returns the last
 * figure and, once it is `refreshMs` old, starts a new measure in the background (one at a time per
 * instance). Only the first read of an instance waits for a measure; a measure that fails keeps
 * the last figure (0 at first).
 *
 * Why not at every heartbeat: a walk (`du`, a child process per instance) every 5 s was most of an
 * idle server's CPU with 20 instances. So the figure shown can be up to `refreshMs` old, except on
 * a volume that is its own mount, which `statfs` reads at every heartbeat without a walk.
 */
export class VolumeMeter {
  readonly #last = new Map<string, { readonly bytes: number; readonly at: number }>()
  readonly #measuring = new Map<string, Promise<number>>()
  readonly #measure: (dir: string) => Promise<number>
  readonly #refreshMs: number
  readonly #mounted: ((dir: string) => Promise<number | undefined>) | undefined

  constructor(measure: (dir: string) => Promise<number> = measureTree, options: { readonly refreshMs?: number; readonly mounted?: (dir: string) => Promise<number | undefined> } = {}) {
    this.#measure = measure
    this.#refreshMs = options.refreshMs ?? 0
    this.#mounted = options.mounted
  }

  usedBytes(key: string, dir: string): Promise<number> {
    if (!this.#mounted) return this.#walked(key, dir)
    return this.#mounted(dir)
      .catch(() => undefined)
      .then((mounted) => mounted ?? this.#walked(key, dir))
  }

  async #walked(key: string, dir: string): Promise<number> {
    const last = this.#last.get(key)
    const due = last === undefined || Date.now() - last.at >= this.#refreshMs
    const measuring = this.#measuring.get(key) ?? (due ? this.#start(key, dir) : undefined)
    return last?.bytes ?? measuring ?? 0
  }

  /** Drops what is known of a volume that is gone. */
  forget(key: string): void {
    this.#last.delete(key)
    this.#measuring.delete(key)
  }

  #start(key: string, dir: string): Promise<number> {
    const p = this.#measure(dir)
      .then((bytes) => {
        // A volume destroyed while it was measured is not brought back into the cache.
        if (this.#measuring.get(key) === p) this.#last.set(key, { bytes, at: Date.now() })
        return bytes
      })
      .catch(() => {
        // A failed measure is tried again only after refreshMs, as a good one would be.
        const last = this.#last.get(key)
        if (this.#measuring.get(key) === p) this.#last.set(key, { bytes: last?.bytes ?? 0, at: Date.now() })
        return last?.bytes ?? 0
      })
      .finally(() => {
        if (this.#measuring.get(key) === p) this.#measuring.delete(key)
      })
    this.#measuring.set(key, p)
    return p
  }
}
