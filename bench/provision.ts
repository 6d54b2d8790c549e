/**
 * bench/provision: how long a create takes, per engine, against the bare engine on this machine,
 * in one run; and how much memory an idle instance costs.
 *   bare           — a fresh server by hand (initdb / install-db / plain start) until ready
 *   coffer x1      — POST /instances to ACTIVE (a database and a user made where the engine has them)
 *   coffer x10     — ten POSTs at once: median create-to-ACTIVE, and wall time to the last ACTIVE
 *   idle memory    — PSS of each instance's engine processes with ten running (Coffer runs no
 *                    process per instance: the guest lives in the one server process)
 * Usage: node dist/bench/provision.js [--runs N] [--only postgresql,mariadb,redis]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pgCreateBody, TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer } from '../test/helpers/coffer-process.js'
import { bareMariadb, barePostgresql, bareRedis, benchRoot, removeRoot, type BareEngine } from './bare-engines.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs')) || 5
const only = arg('--only')?.split(',')
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const s = (ms: number) => (ms / 1000).toFixed(2)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const pssKb = (pid: number): number => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

async function bare(engine: BareEngine): Promise<number> {
  const root = benchRoot()
  const times: number[] = []
  try {
    for (let i = 0; i < runs; i++) times.push(await engine.once(root, i))
  } finally {
    await sleep(300)
    removeRoot(root)
  }
  return median(times)
}

async function coffer(engine: BareEngine) {
  const c = await startCoffer({ COFFER_HEARTBEAT_MS: '5000' })
  try {
    const api = new TestClient(c.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const version = (await api.api('GET', `/datastores/${engine.datastore}/versions/${engine.version}`)).body.version
    const schema = version.capabilities.databases
      ? { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'bench-pass-1', databases: [{ name: 'app' }] }] }
      : { users: [{ name: 'app', password: 'bench-pass-1', databases: [] }] }
    const create = async (name: string) => {
      const t = performance.now()
      const body = pgCreateBody(name, schema)
      body.instance.datastore = { type: engine.datastore, version: engine.version }
      const r = await api.api('POST', '/instances', body)
      if (r.status !== 200) throw new Error(JSON.stringify(r.body))
      for (;;) {
        const i = (await api.api('GET', `/instances/${r.body.instance.id}`)).body.instance
        if (i.status === 'ACTIVE') return { id: i.id as string, ms: performance.now() - t }
        if (i.status === 'ERROR') throw new Error(JSON.stringify(i.fault))
        await sleep(10)
      }
    }
    const dropAll = async (ids: string[]) => {
      await Promise.all(ids.map((id) => api.api('DELETE', `/instances/${id}`)))
      await Promise.all(ids.map((id) => api.waitGone(id)))
    }
    await dropAll([(await create('warm-up')).id]) // the first create may wait for the node's template
    const one: number[] = []
    for (let i = 0; i < runs; i++) {
      const r = await create(`one-${i}`)
      one.push(r.ms)
      await dropAll([r.id])
    }
    const t = performance.now()
    const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => create(`ten-${i}`)))
    const tenWall = performance.now() - t
    await sleep(3000) // let the engines settle to idle
    const perInstance = ten.map((r) => processesUnder(join(c.home, 'instances', r.id)).reduce((kb, pid) => kb + pssKb(pid), 0))
    const serverPss = pssKb(c.child.pid ?? 0)
    await dropAll(ten.map((r) => r.id))
    return { one: median(one), tenMedian: median(ten.map((r) => r.ms)), tenWall, idleMb: median(perInstance) / 1024, serverMb: serverPss / 1024 }
  } finally {
    await c.destroy()
  }
}

const engines = [barePostgresql, bareMariadb, bareRedis].filter((e) => !only || only.includes(e.datastore))
console.log(`Provisioning, ${runs} runs each; ratio = Coffer / bare (${new Date().toISOString().slice(0, 10)}, ${readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length} CPUs)\n`)
console.log('| engine | bare (s) | coffer x1 median (s) | ratio | x10 median (s) | x10 wall (s) | idle MB per instance |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const e of engines) {
  try {
    const b = await bare(e)
    const c = await coffer(e)
    console.log(`| ${e.datastore} ${e.version} (${e.what}) | ${s(b)} | ${s(c.one)} | ${(c.one / b).toFixed(2)}x | ${s(c.tenMedian)} | ${s(c.tenWall)} | ${c.idleMb.toFixed(1)} (server ${c.serverMb.toFixed(0)} MB in all) |`)
  } catch (err) {
    console.log(`| ${e.datastore} ${e.version} | failed: ${(err as Error).message} | | | | | |`)
  }
}
