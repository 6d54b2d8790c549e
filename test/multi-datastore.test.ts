/**
 * One interface for every engine: PostgreSQL, MariaDB and Redis instances through the same API,
 * each tuned from its flavor, with the capabilities their manifests declare and nothing more.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, mariadbProbe, postgresqlProbe, redisProbe } from './helpers/engines.js'

describe('multiple datastores', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => coffer?.destroy())

  it('offers the engines installed on the node, and no pretend mysql', async () => {
    const { body } = await api.api('GET', '/datastores')
    const names = body.datastores.map((d: any) => d.name).sort()
    assert.deepEqual(names, ['mariadb', 'postgresql', 'redis'])
    assert.equal((await api.api('GET', '/datastores/mysql')).status, 404)
    const versions = Object.fromEntries(body.datastores.map((d: any) => [d.name, d.versions.map((v: any) => v.name)]))
    assert.deepEqual(versions, { mariadb: ['10.11'], postgresql: ['15'], redis: ['7.0'] })
  })

  it('serves each version\'s capability matrix', async () => {
    const caps = async (ds: string, v: string) => (await api.api('GET', `/datastores/${ds}/versions/${v}`)).body.version.capabilities
    const redis = await caps('redis', '7.0')
    assert.equal(redis.databases, false)
    assert.equal(redis.users, true)
    assert.equal((await caps('mariadb', '10.11')).databases, true)
    assert.equal((await caps('postgresql', '15')).root, true)
    for (const c of [redis, await caps('mariadb', '10.11')]) assert.equal(c.clustering, false)
  })

  it('refuses what a manifest does not offer, with a clear 400', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'r', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, databases: [{ name: 'd' }] } })
    assert.equal(r.status, 400)
    assert.match(r.body.badRequest.message, /redis' does not support databases/)
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
  })

  const cases = [
    { probe: postgresqlProbe, tuned: ['shared_buffers', 'effective_cache_size', 'work_mem', 'max_connections'], schema: true },
    { probe: mariadbProbe, tuned: ['innodb_buffer_pool_size', 'innodb_log_file_size', 'max_connections', 'tmp_table_size'], schema: true },
    { probe: redisProbe, tuned: ['maxmemory', 'maxmemory-policy'], schema: false },
  ]
  for (const { probe, tuned, schema } of cases) {
    it(`creates a working ${probe.datastore} instance tuned from its flavor, and deletes it`, async () => {
      const body = {
        instance: {
          name: `multi-${probe.datastore}`,
          flavorRef: '2',
          volume: { size: 1 },
          datastore: { type: probe.datastore, version: probe.version },
          ...(schema ? { databases: [{ name: 'app' }] } : {}),
          users: [{ name: 'app', password: 'app-Passw0rd', databases: schema ? [{ name: 'app' }] : [] }],
        },
      }
      const created = await api.api('POST', '/instances', body)
      assert.equal(created.status, 200, JSON.stringify(created.body))
      const inst = (await api.waitActive(created.body.instance.id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      assert.equal(inst.datastore.type, probe.datastore)
      assert.ok(await probe.canUse(at(inst), 'app', 'app-Passw0rd', schema ? 'app' : undefined), 'the initial user works')
      assert.equal(await probe.canUse(at(inst), 'app', 'nope', schema ? 'app' : undefined), false)

      const conf = (await api.api('GET', `/instances/${inst.id}/configuration`)).body.instance.configuration
      for (const key of tuned) assert.ok(conf[key] !== undefined, `${key} in ${JSON.stringify(conf)}`)

      assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
      await api.waitGone(inst.id)
      assert.equal(await probe.canUse(at(inst), 'app', 'app-Passw0rd', schema ? 'app' : undefined), false, 'gone')
    })
  }
})
