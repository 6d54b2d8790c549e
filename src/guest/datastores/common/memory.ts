/**
 * Memory a process really costs the node. PSS (proportional set size) charges each shared page
 * to the processes sharing it in equal parts, so summing it over engines gives the node's true use,
 * unlike RSS, which counts shared libraries and copy-on-write pages once per process.
 */
import { readFile } from 'node:fs/promises'

/** The process's PSS in kB from /proc/PID/smaps_rollup (Linux 4.14+); undefined when it cannot be read. */
export async function pssKb(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8')
    const kb = /^Pss:\s+(\d+) kB$/m.exec(text)?.[1]
    return kb === undefined ? undefined : Number(kb)
  } catch {
    return undefined
  }
}
