/**
 * bench/resize-flavor: how long a flavor resize takes, per engine, from the POST of
 * `{"resize": {"flavorRef": ...}}` to ACTIVE with the new flavor (its one engine restart included),
 * alternating m1.tiny → m1.small → m1.tiny. Clients poll every 5 ms.
 * Usage: node dist/bench/resize-flavor.js [--runs N] [--only postgresql,mariadb,redis]
 */
import { TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, startCoffer } from '../test/helpers/coffer-process.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs')) || 5
const only = arg('--only')?.split(',') ?? ['postgresql', 'mariadb', 'redis']
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFlavor(api: TestClient, id: string, flavor: string): Promise<void> {
  for (;;) {
    const i = (await api.api('GET', `/instances/${id}`)).body.instance
    if (i.status === 'ERROR') throw new Error(`instance ${id} failed: ${JSON.stringify(i.fault)}`)
    if (i.status === 'ACTIVE' && i.flavor.id === flavor) return
    await sleep(5)
  }
}

const c = await startCoffer({ COFFER_HEARTBEAT_MS: '5000' })
try {
  const api = new TestClient(c.url)
  await api.login('admin', ADMIN_PASSWORD, 'admin')
  console.log(`resize-flavor, median of ${runs} (m1.tiny ↔ m1.small), POST to ACTIVE with the new flavor`)
  for (const type of only) {
    const schema = type !== 'redis'
    const body = { instance: { name: `bench-${type}`, flavorRef: '1', volume: { size: 1 }, datastore: { type }, ...(schema ? { databases: [{ name: 'app' }] } : {}) } }
    const id = (await api.api('POST', '/instances', body)).body.instance.id
    await waitFlavor(api, id, '1')
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const to = i % 2 === 0 ? '2' : '1'
      const t = performance.now()
      const r = await api.api('POST', `/instances/${id}/action`, { resize: { flavorRef: to } })
      if (r.status !== 202) throw new Error(`resize answered ${r.status}: ${JSON.stringify(r.body)}`)
      await waitFlavor(api, id, to)
      times.push(performance.now() - t)
    }
    console.log(`  ${type.padEnd(11)} ${(median(times) / 1000).toFixed(3)} s  (min ${(Math.min(...times) / 1000).toFixed(3)}, max ${(Math.max(...times) / 1000).toFixed(3)})`)
    await api.api('DELETE', `/instances/${id}`)
  }
} finally {
  await c.destroy()
}
