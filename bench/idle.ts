/**
 * bench/idle: what an idle server costs. Starts `coffer serve` with no spares and the default
 * heartbeat (DEFAULT_HEARTBEAT_MS), creates N Redis instances (20 by default), lets it settle, then reads the
 * server process's CPU time from /proc/<pid>/stat over a window: its own (utime + stime) and its
 * reaped children's (cutime + cstime: any `du` or other helper it ran), and its RSS at the end.
 * Prints figures only; nothing here asserts on time.
 * Usage: node dist/bench/idle.js [--instances N] [--seconds S] [--settle S] [--heartbeat-ms MS]
 */
import { readFileSync } from 'node:fs'
import { DEFAULT_HEARTBEAT_MS } from '../src/config.js'
import { TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, startCoffer } from '../test/helpers/coffer-process.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const instances = Number(arg('--instances')) || 20
const seconds = Number(arg('--seconds')) || 60
const settle = Number(arg('--settle')) || 20
/** The server's default unless given. */
const heartbeatMs = arg('--heartbeat-ms')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const TICKS_PER_SECOND = 100 // USER_HZ on Linux

interface Cpu {
  readonly own: number
  readonly children: number
}

/** CPU ticks of a process: fields 14-17 of /proc/<pid>/stat, counted after the command's `)`. */
function cpuOf(pid: number): Cpu {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const n = (i: number) => Number(fields[i - 3])
  return { own: n(14) + n(15), children: n(16) + n(17) }
}

const rssMb = (pid: number): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

async function main(): Promise<void> {
  const c = await startCoffer({ COFFER_SPARES: 'none', COFFER_HEARTBEAT_MS: heartbeatMs ?? String(DEFAULT_HEARTBEAT_MS), COFFER_MAX_INSTANCES: String(instances), COFFER_MAX_VOLUMES: String(instances) })
  try {
    const pid = c.child.pid
    if (pid === undefined) throw new Error('no server pid')
    const api = new TestClient(c.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const ids: string[] = []
    for (let i = 0; i < instances; i++) {
      const r = await api.api('POST', '/instances', {
        instance: { name: `idle-${i}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'app', password: 'bench-Passw0rd', databases: [] }] },
      })
      if (r.status !== 200) throw new Error(JSON.stringify(r.body))
      ids.push(r.body.instance.id)
    }
    for (const id of ids) {
      const s = (await api.waitActive(id)).body.instance.status
      if (s !== 'ACTIVE') throw new Error(`instance ${id} is ${s}`)
    }
    console.log(`${instances} Redis instances ACTIVE; settling ${settle} s, then measuring ${seconds} s`)
    await sleep(settle * 1000)
    const before = cpuOf(pid)
    const t0 = performance.now()
    await sleep(seconds * 1000)
    const after = cpuOf(pid)
    const wall = (performance.now() - t0) / 1000
    const pct = (ticks: number) => ((ticks / TICKS_PER_SECOND / wall) * 100).toFixed(2)
    console.log(`server CPU (own): ${pct(after.own - before.own)}% of a core`)
    console.log(`server CPU (its children, e.g. du): ${pct(after.children - before.children)}% of a core`)
    console.log(`server RSS: ${rssMb(pid).toFixed(0)} MB`)
  } finally {
    await c.destroy()
  }
}

await main()
