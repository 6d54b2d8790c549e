/**
 * bench/provision: how long a create takes, per engine, against the bare engine on this machine,
 * in one run; and how much memory an idle instance costs.
 *   bare           — a fresh server by hand (initdb / install-db / plain start) until ready;
 *                    x10: ten of them started at once
 *   coffer, cold   — POST /instances to ACTIVE with no spares (COFFER_SPARES=none): the engine is
 *                    built from nothing (a database and a user made where the engine has them)
 *   coffer, spares — the same with the datastore's fleet pool of spares (config.ts FLEET_SPARES), measured on
 *                    a node at rest: the pool is full before each create, and before the ten
 *   x10            — ten POSTs at once: median create-to-ACTIVE, and wall time to the last ACTIVE
 *   idle memory    — PSS of each instance's engine processes with ten running (Coffer runs no
 *                    process per instance: the guest lives in the one server process)
 * Clients poll every 5 ms, as the bare measurement does (one instance list for the ten).
 *   limits         — what a loop-mounted volume and the flavor's cgroup add to a cold PostgreSQL
 *                    create (bench/limits-cost.ts); `--limits-only` prints just that
 * Usage: node dist/bench/provision.js [--runs N] [--only postgresql,mariadb,redis] [--limits-only]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FLEET_SPARES } from '../src/config.js'
import { parseSpareSizes } from '../src/core/spares.js'
import { pgCreateBody, TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer } from '../test/helpers/coffer-process.js'
import { limitsCost } from './limits-cost.js'
import { bareMariadb, barePostgresql, bareRedis, benchRoot, removeRoot, type BareEngine } from './bare-engines.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs')) || 5
const only = arg('--only')?.split(',')
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const s = (ms: number) => (ms / 1000).toFixed(3)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const pssKb = (pid: number): number => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

interface Figures {
  readonly one: number
  readonly tenMedian: number
  readonly tenWall: number
}

async function bare(engine: BareEngine): Promise<Figures> {
  const root = benchRoot()
  try {
    const one: number[] = []
    for (let i = 0; i < runs; i++) one.push(await engine.once(root, i))
    const t = performance.now()
    const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.once(root, 100 + i)))
    return { one: median(one), tenMedian: median(ten), tenWall: performance.now() - t }
  } finally {
    await sleep(300)
    removeRoot(root)
  }
}

async function coffer(engine: BareEngine, spares: number): Promise<Figures & { idleMb: number; serverMb: number }> {
  const c = await startCoffer({ COFFER_HEARTBEAT_MS: '5000', COFFER_SPARES: spares > 0 ? `${engine.datastore}=${spares}` : 'none' })
  try {
    const api = new TestClient(c.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const version = (await api.api('GET', `/datastores/${engine.datastore}/versions/${engine.version}`)).body.version
    const schema = version.capabilities.databases
      ? { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'bench-pass-1', databases: [{ name: 'app' }] }] }
      : { users: [{ name: 'app', password: 'bench-pass-1', databases: [] }] }
    const poolFull = async () => {
      for (let i = 0; spares > 0 && i < 1200; i++) {
        if ((await api.api('GET', '/mgmt/spares')).body.pools.every((p: { ready: number; wanted: number }) => p.ready >= p.wanted)) return
        await sleep(100)
      }
    }
    const post = async (name: string): Promise<string> => {
      const body = pgCreateBody(name, schema)
      body.instance.datastore = { type: engine.datastore, version: engine.version }
      const r = await api.api('POST', '/instances', body)
      if (r.status !== 200) throw new Error(JSON.stringify(r.body))
      return r.body.instance.id
    }
    const create = async (name: string) => {
      const t = performance.now()
      const id = await post(name)
      for (;;) {
        const i = (await api.api('GET', `/instances/${id}`)).body.instance
        if (i.status === 'ACTIVE') return { id, ms: performance.now() - t }
        if (i.status === 'ERROR') throw new Error(JSON.stringify(i.fault))
        await sleep(5)
      }
    }
    // Ten at once are watched the way a person would: one instance list, not ten pollers.
    const createTen = async () => {
      const t = performance.now()
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => post(`ten-${i}`)))
      const done = new Map<string, number>()
      while (done.size < ids.length) {
        for (const i of (await api.api('GET', '/instances')).body.instances) {
          if (i.status === 'ERROR') throw new Error(JSON.stringify(i.fault))
          if (i.status === 'ACTIVE' && ids.includes(i.id) && !done.has(i.id)) done.set(i.id, performance.now() - t)
        }
        await sleep(5)
      }
      return ids.map((id) => ({ id, ms: done.get(id) ?? NaN }))
    }
    const dropAll = async (ids: string[]) => {
      await Promise.all(ids.map((id) => api.api('DELETE', `/instances/${id}`)))
      await Promise.all(ids.map((id) => api.waitGone(id)))
    }
    await dropAll([(await create('warm-up')).id]) // the first create may wait for the node's template
    const one: number[] = []
    for (let i = 0; i < runs; i++) {
      await poolFull()
      const r = await create(`one-${i}`)
      one.push(r.ms)
      await dropAll([r.id])
    }
    await poolFull()
    const ten = await createTen()
    const tenWall = Math.max(...ten.map((r) => r.ms))
    await sleep(3000) // let the engines settle to idle
    const perInstance = ten.map((r) => processesUnder(join(c.home, 'instances', r.id)).reduce((kb, pid) => kb + pssKb(pid), 0))
    const serverPss = pssKb(c.child.pid ?? 0)
    await dropAll(ten.map((r) => r.id))
    return { one: median(one), tenMedian: median(ten.map((r) => r.ms)), tenWall, idleMb: median(perInstance) / 1024, serverMb: serverPss / 1024 }
  } finally {
    await c.destroy()
  }
}

const limitsOnly = process.argv.includes('--limits-only')
const engines = [barePostgresql, bareMariadb, bareRedis].filter((e) => !limitsOnly && (!only || only.includes(e.datastore)))
const defaults = parseSpareSizes(FLEET_SPARES)
const cpus = readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length
if (engines.length > 0) console.log(`Provisioning, ${runs} runs each, times in seconds; ratio = Coffer / bare (${new Date().toISOString().slice(0, 10)}, ${cpus} CPUs)\n`)
if (engines.length > 0) console.log('| engine | bare x1 | Coffer x1 cold | Coffer x1 from a spare | bare x10 median / wall | Coffer x10 cold median / wall | Coffer x10 with spares median / wall | spares kept | idle MB per instance |')
if (engines.length > 0) console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`
for (const e of engines) {
  try {
    const b = await bare(e)
    const cold = await coffer(e, 0)
    const pool = defaults[e.datastore] ?? 0
    const warm = pool > 0 ? await coffer(e, pool) : undefined
    const warmOne = warm ? `${s(warm.one)} (${ratio(warm.one, b.one)})` : 'no spares'
    const warmTen = warm ? `${s(warm.tenMedian)} / ${s(warm.tenWall)} (${ratio(warm.tenWall, b.tenWall)})` : 'no spares'
    console.log(
      `| ${e.datastore} ${e.version} (${e.what}) | ${s(b.one)} | ${s(cold.one)} (${ratio(cold.one, b.one)}) | ${warmOne} | ${s(b.tenMedian)} / ${s(b.tenWall)} ` +
        `| ${s(cold.tenMedian)} / ${s(cold.tenWall)} (${ratio(cold.tenWall, b.tenWall)}) | ${warmTen} | ${pool} | ${cold.idleMb.toFixed(1)} (server ${cold.serverMb.toFixed(0)} MB in all) |`,
    )
  } catch (err) {
    console.log(`| ${e.datastore} ${e.version} | failed: ${(err as Error).message} | | | | | | | |`)
  }
}
if (!only || only.includes('postgresql')) await limitsCost(runs)
