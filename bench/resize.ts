/**
 * bench/resize: how long `resize {volume: {size}}` takes, from the POST until GET shows ACTIVE with
 * the new size, on a PostgreSQL instance holding some data, and whether a client kept its session.
 * Online where the host lets Coffer resize a mounted ext4 (CAP_SYS_RESOURCE); otherwise the engine
 * is stopped around an offline grow, which the line says.
 * Usage: node dist/bench/resize.js [--runs N] [--data-mb M]
 */
import pg from 'pg'
import { pgCreateBody, TestClient } from '../test/helpers/api-client.js'
import { ADMIN_PASSWORD, startCoffer } from '../test/helpers/coffer-process.js'

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs')) || 3
const dataMb = Number(arg('--data-mb')) || 200
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const c = await startCoffer({ COFFER_HEARTBEAT_MS: '1000', COFFER_MAX_VOLUME_GB: String(runs + 2) })
try {
  const api = new TestClient(c.url)
  await api.login('admin', ADMIN_PASSWORD, 'admin')
  const r = await api.api('POST', '/instances', pgCreateBody('resize', { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'bench-pass-1', databases: [{ name: 'app' }] }] }))
  const id = r.body.instance.id
  const i = (await api.waitActive(id)).body.instance
  const client = new pg.Client({ host: i.ip[0], port: i.port, user: 'app', password: 'bench-pass-1', database: 'app' })
  client.on('error', () => undefined)
  await client.connect()
  await client.query('CREATE TABLE filler (v text)')
  await client.query(`INSERT INTO filler SELECT repeat(md5(g::text), 30) FROM generate_series(1, ${dataMb * 1000}) g`)
  const times: number[] = []
  let sessionKept = true
  for (let size = 2; size < 2 + runs; size++) {
    const t = performance.now()
    const a = await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size } } })
    if (a.status !== 202) throw new Error(JSON.stringify(a.body))
    for (;;) {
      const now = (await api.api('GET', `/instances/${id}`)).body.instance
      if (now.status === 'ACTIVE' && now.volume.size === size) break
      if (now.status === 'ERROR') throw new Error(JSON.stringify(now.fault))
      await sleep(5)
    }
    times.push(performance.now() - t)
    sessionKept &&= await client.query('SELECT 1').then(() => true, () => false)
  }
  await client.end().catch(() => undefined)
  const how = sessionKept ? 'online: the client kept its session' : 'offline: the engine was stopped around the grow (no CAP_SYS_RESOURCE for an online resize2fs)'
  console.log(`resize-volume (PostgreSQL, ${dataMb} MB of data, 1 GB -> 2..${runs + 1} GB), median of ${runs}: ${(median(times) / 1000).toFixed(3)} s; ${how}`)
} finally {
  await c.destroy()
}
