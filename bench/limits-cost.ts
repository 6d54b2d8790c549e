/**
 * What the real limits add to a cold create: the same PostgreSQL create (COFFER_SPARES=none) with
 * volumes loop-mounted and cgroups on, and with both off (COFFER_VOLUME_LOOP=off,
 * COFFER_CGROUPS=off). Used by bench/provision.
 */
import { pgCreateBody, TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, startCoffer } from '../test/helpers/coffer-process.js'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function coldCreates(env: Record<string, string>, runs: number): Promise<{ ms: number; type: string }> {
  const c = await startCoffer({ COFFER_HEARTBEAT_MS: '5000', ...env })
  try {
    const api = new TestClient(c.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const times: number[] = []
    let type = ''
    for (let n = 0; n < runs; n++) {
      const t = performance.now()
      const r = await api.api('POST', '/instances', pgCreateBody(`limits-${n}`, { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'bench-pass-1', databases: [{ name: 'app' }] }] }))
      if (r.status !== 200) throw new Error(JSON.stringify(r.body))
      const id = r.body.instance.id
      for (;;) {
        const i = (await api.api('GET', `/instances/${id}`)).body.instance
        if (i.status === 'ACTIVE') break
        if (i.status === 'ERROR') throw new Error(JSON.stringify(i.fault))
        await sleep(5)
      }
      times.push(performance.now() - t)
      const nodes = (await api.api('GET', '/mgmt/nodes')).body.nodes
      type = `${nodes[0].limits.volume}, memory ${nodes[0].limits.memory}`
      await api.api('DELETE', `/instances/${id}`)
      await api.waitGone(id)
    }
    return { ms: median(times), type }
  } finally {
    await c.destroy()
  }
}

/** Prints one line: the median cold create with limits, without, and the difference. */
export async function limitsCost(runs: number): Promise<void> {
  const on = await coldCreates({}, runs)
  const off = await coldCreates({ COFFER_VOLUME_LOOP: 'off', COFFER_CGROUPS: 'off' }, runs)
  const s = (ms: number) => (ms / 1000).toFixed(3)
  console.log(`\nPostgreSQL cold create, median of ${runs}: with limits (${on.type}) ${s(on.ms)} s; without (${off.type}) ${s(off.ms)} s; the limits add ${s(on.ms - off.ms)} s`)
}
