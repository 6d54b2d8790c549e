/**
 * bench/sealed-pipeline: Coffer's sealed pipeline alone, on a file (`--file`, default a fresh
 * 512 MiB of base64 text of random bytes): `zstd -1` by hand to a file, putSealed to an
 * FsObjectStore (from a Node stream, and from a descriptor zstd reads itself), the read-back check (verifyObject), and openSealed to /dev/null. MiB/s of the input.
 * Usage: node dist/bench/sealed-pipeline.js [--file F] [--mb 512] [--runs 3]
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { openSealed, putSealed } from '../src/guest/datastores/common/sealed-objects.js'
import { FsObjectStore } from '../src/storage/fs/fs-object-store.js'
import { verifyObject } from '../src/storage/verify-object.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs')) || 3
const root = mkdtempSync('/tmp/coffer-sealed-')
try {
  let file = arg('--file')
  if (!file) {
    file = join(root, 'data')
    execFileSync('bash', ['-c', `head -c ${Math.round((Number(arg('--mb') ?? 512) * 3) / 4)}M /dev/urandom | base64 > ${file}`])
  }
  const bytes = statSync(file).size
  const mib = bytes / 2 ** 20
  /** CPU seconds of this process and its reaped children (/proc/self/stat utime stime cutime cstime). */
  const cpu = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ').slice(11, 15).reduce((n, x) => n + Number(x), 0) / 100
  const key = randomBytes(32)
  const store = new FsObjectStore(join(root, 'objects'))
  let put: Awaited<ReturnType<typeof putSealed>> | undefined
  const steps: [string, () => Promise<unknown>][] = [
    ['zstd -1 to a file', async () => execFileSync('bash', ['-c', `zstd -1 -q -c ${file} > ${join(root, 'by-hand.zst')}`])],
    ['putSealed from a Node stream', async () => (put = await putSealed(store, 'b/x', createReadStream(file), key))],
    ['putSealed from a descriptor', async () => {
      const fh = await open(file, 'r')
      try {
        put = await putSealed(store, 'b/x', { input: fh.fd, done: Promise.resolve() }, key)
      } finally {
        await fh.close()
      }
    }],
    ['verifyObject (read-back check)', async () => {
      const r = await verifyObject(store, { ...put!, dataKey: key })
      if (!r.ok) throw new Error(r.problem)
    }],
    ['openSealed to nothing', async () => pipeline(await openSealed(store, 'b/x', key, 'x'), new Writable({ write: (_c, _e, done) => done() }))],
  ]
  // Interleaved runs, best of each: the machine is shared.
  const best = steps.map(() => ({ wall: Infinity, cpu: Infinity }))
  for (let run = 0; run < runs; run++) {
    for (const [i, [, fn]] of steps.entries()) {
      const [t, c] = [performance.now(), cpu()]
      await fn()
      best[i]!.wall = Math.min(best[i]!.wall, (performance.now() - t) / 1000)
      best[i]!.cpu = Math.min(best[i]!.cpu, cpu() - c)
    }
  }
  console.log(`${(mib).toFixed(0)} MiB, best of ${runs}; CPU is this process and its children`)
  for (const [i, [what]] of steps.entries()) console.log(`${what.padEnd(32)} ${best[i]!.wall.toFixed(2)} s  ${(mib / best[i]!.wall).toFixed(0).padStart(4)} MiB/s  CPU ${best[i]!.cpu.toFixed(2)} s`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
