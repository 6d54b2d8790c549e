/**
 * bench/provision: how long a create takes, against the bare engine on this machine, in one run.
 *   bare initdb+start  — what a person does by hand: initdb --no-sync, start, wait until ready
 *   bare template+start — a pre-initialised data folder copied and started (Trove's guest image role)
 *   coffer create x1   — POST /instances to ACTIVE (database and user made), one at a time
 *   coffer create x10  — ten POSTs at once, to the last ACTIVE
 * Usage: node dist/bench/provision.js [--runs N]
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, chownSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { pgCreateBody, TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, startCoffer } from '../test/helpers/coffer-process.js'

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5
const PG_BIN = '/usr/lib/postgresql/15/bin'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const seconds = (ms: number) => (ms / 1000).toFixed(2)
const asPostgres = (cmd: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' })

async function waitReady(data: string): Promise<void> {
  for (;;) {
    try {
      if (readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready') return
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function bareStart(data: string, port: number): Promise<void> {
  const child = spawn('runuser', ['-u', 'postgres', '--', `${PG_BIN}/postgres`, '-D', data, '-p', String(port), '-k', data, '-c', 'listen_addresses=127.0.0.1'], { stdio: 'ignore', detached: true })
  child.unref()
  await waitReady(data)
}

function bareStop(data: string): void {
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  process.kill(pid, 'SIGQUIT')
}

async function bare(): Promise<{ initdb: number; template: number }> {
  const root = mkdtempSync('/tmp/coffer-bench-')
  chmodSync(root, 0o755)
  chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0)
  const initdb: number[] = []
  const template: number[] = []
  const tpl = join(root, 'template')
  asPostgres(`${PG_BIN}/initdb`, ['--no-sync', '-A', 'scram-sha-256', '--pwfile=/dev/null', '-U', 'bench', '-D', tpl])
  for (let i = 0; i < runs; i++) {
    const data = join(root, `initdb-${i}`)
    let t = performance.now()
    asPostgres(`${PG_BIN}/initdb`, ['--no-sync', '-A', 'scram-sha-256', '--pwfile=/dev/null', '-U', 'bench', '-D', data])
    await bareStart(data, 41000 + i)
    initdb.push(performance.now() - t)
    bareStop(data)

    const copy = join(root, `copy-${i}`)
    t = performance.now()
    execFileSync('cp', ['-a', tpl, copy])
    await bareStart(copy, 41100 + i)
    template.push(performance.now() - t)
    bareStop(copy)
  }
  await new Promise((r) => setTimeout(r, 500))
  rmSync(root, { recursive: true, force: true })
  return { initdb: median(initdb), template: median(template) }
}

async function coffer(): Promise<{ one: number; ten: number; tenMedian: number }> {
  const c = await startCoffer({ COFFER_HEARTBEAT_MS: '5000' })
  try {
    const api = new TestClient(c.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const create = async (name: string) => {
      const t = performance.now()
      const r = await api.api('POST', '/instances', pgCreateBody(name, { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'bench-pass', databases: [{ name: 'app' }] }] }))
      if (r.status !== 200) throw new Error(JSON.stringify(r.body))
      for (;;) {
        const s = (await api.api('GET', `/instances/${r.body.instance.id}`)).body.instance
        if (s.status === 'ACTIVE') return { id: s.id as string, ms: performance.now() - t }
        if (s.status === 'ERROR') throw new Error(JSON.stringify(s.fault))
        await new Promise((res) => setTimeout(res, 10))
      }
    }
    const dropAll = async (ids: string[]) => {
      await Promise.all(ids.map((id) => api.api('DELETE', `/instances/${id}`)))
      await Promise.all(ids.map((id) => api.waitGone(id)))
    }
    // Warm-up: the first create may wait for the node's template to be built.
    await dropAll([(await create('warm-up')).id])
    const one: number[] = []
    for (let i = 0; i < runs; i++) {
      const r = await create(`one-${i}`)
      one.push(r.ms)
      await dropAll([r.id])
    }
    const t = performance.now()
    const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => create(`ten-${i}`)))
    const tenWall = performance.now() - t
    await dropAll(ten.map((r) => r.id))
    return { one: median(one), ten: tenWall, tenMedian: median(ten.map((r) => r.ms)) }
  } finally {
    await c.destroy()
  }
}

if (!existsSync(`${PG_BIN}/postgres`)) throw new Error('PostgreSQL 15 is not installed: run `make build` first')
const b = await bare()
const c = await coffer()
const rows: [string, number, string][] = [
  ['bare initdb + start (median)', b.initdb, '1.00x'],
  ['bare template copy + start (median)', b.template, `${(b.template / b.initdb).toFixed(2)}x`],
  ['coffer create-to-ACTIVE, 1 instance (median)', c.one, `${(c.one / b.initdb).toFixed(2)}x`],
  ['coffer 10 at once: median create-to-ACTIVE', c.tenMedian, `${(c.tenMedian / b.initdb).toFixed(2)}x`],
  ['coffer 10 at once: wall time to the last ACTIVE', c.ten, `${(c.ten / b.initdb).toFixed(2)}x`],
]
console.log(`PostgreSQL 15 provisioning, ${runs} runs each (ratio to bare initdb + start)`)
console.log('| what | seconds | ratio |\n| --- | --- | --- |')
for (const [what, ms, ratio] of rows) console.log(`| ${what} | ${seconds(ms)} | ${ratio} |`)
