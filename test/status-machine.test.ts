/**
 * One status machine and one way to change state, on real engines: a request answered 4xx changes
 * nothing; a configuration change the engine takes live is answered once the engine has it (a
 * client reading right after sees the new value); the instance's configuration is typed as the
 * catalog types it; a failed apply is a fault of that operation, which a restart or detach mends.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, postgresqlConfiguration, redisConfiguration, type ConfigurationProbe, type Where } from './helpers/engines.js'

interface Instance {
  readonly id: string
  readonly at: Where
  readonly root: { readonly name: string; readonly password: string }
}

async function readyInstance(api: TestClient, name: string, datastore: { type: string; version: string }): Promise<Instance> {
  const r = await api.api('POST', '/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore } })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  const inst = (await api.waitActive(r.body.instance.id)).body.instance
  assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
  const root = (await api.api('POST', `/instances/${inst.id}/root`)).body.user
  return { id: inst.id, at: at(inst), root }
}

/** Per engine: a parameter it takes live and three values of it, as the group holds them and as the engine reads them back. */
const LIVE: { cp: ConfigurationProbe; name: string; values: [unknown, string][] }[] = [
  { cp: redisConfiguration, name: 'maxmemory-policy', values: [['allkeys-lru', 'allkeys-lru'], ['volatile-lfu', 'volatile-lfu'], ['allkeys-random', 'allkeys-random']] },
  { cp: postgresqlConfiguration, name: 'work_mem', values: [[8192, '8MB'], [12288, '12MB'], [16384, '16MB']] },
]

for (const { cp, name, values } of LIVE) {
  const datastore = { type: cp.probe.datastore, version: cp.probe.version }
  describe(`configuration answers on ${datastore.type}`, () => {
    let coffer: CofferProcess
    let api: TestClient
    let inst: Instance
    const read = () => cp.read(inst.at, inst.root.name, inst.root.password, name)
    const group = async (groupName: string, v: unknown) => {
      const r = await api.api('POST', '/configurations', { configuration: { name: groupName, values: { [name]: v }, datastore } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      return r.body.configuration.id as string
    }

    before(async () => {
      ;({ coffer, api } = await startCofferAsAdmin())
      inst = await readyInstance(api, 'live', datastore)
    })
    after(async () => coffer?.destroy())

    it('answers an attach, a PATCH, a PUT and a detach once the engine has the new value', async () => {
      const initial = await read()
      for (let round = 0; round < 3; round++) {
        const [[first, firstRead], [second, secondRead], [third, thirdRead]] = values as [[unknown, string], [unknown, string], [unknown, string]]
        const id = await group(`live-${round}`, first)
        assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: id } })).status, 202)
        assert.equal(await read(), firstRead, `round ${round}: attach`)
        assert.equal((await api.api('PATCH', `/configurations/${id}`, { configuration: { values: { [name]: second } } })).status, 200)
        assert.equal(await read(), secondRead, `round ${round}: PATCH`)
        assert.equal((await api.api('PUT', `/configurations/${id}`, { configuration: { values: { [name]: third } } })).status, 202)
        assert.equal(await read(), thirdRead, `round ${round}: PUT`)
        assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: null } })).status, 202)
        assert.equal(await read(), initial, `round ${round}: detach`)
        assert.equal((await api.api('DELETE', `/configurations/${id}`)).status, 202)
      }
    })

    it("shows the group's values at once, typed as the catalog types them", async () => {
      const [[first]] = values as [[unknown, string]]
      const id = await group('typed', first)
      assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: id } })).status, 202)
      const shown = (await api.api('GET', `/instances/${inst.id}/configuration`)).body.instance.configuration
      assert.deepEqual(shown[name], first)
      const catalog = (await api.api('GET', `/datastores/${datastore.type}/versions/${datastore.version}/parameters`)).body['configuration-parameters'] as { name: string; type: string }[]
      for (const p of catalog.filter((x) => x.type === 'integer' && x.name in shown)) {
        // Sizes with a unit ("128MB") are the engine's own notation; a bare number is shown as one.
        if (typeof shown[p.name] === 'string') assert.doesNotMatch(shown[p.name], /^-?\d+$/, `${p.name} is an integer: ${JSON.stringify(shown[p.name])}`)
      }
      assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: null } })).status, 202)
      assert.equal((await api.api('DELETE', `/configurations/${id}`)).status, 202)
    })

    it('changes nothing when a rename comes with a group that cannot be found', async () => {
      const r = await api.api('PUT', `/instances/${inst.id}`, { instance: { name: 'renamed', configuration: '6b1d4f31-0000-4000-8000-000000000000' } })
      assert.equal(r.status, 404, JSON.stringify(r.body))
      const after = (await api.api('GET', `/instances/${inst.id}`)).body.instance
      assert.equal(after.name, 'live', 'a request answered 404 renamed nothing')
      assert.equal(after.configuration, undefined)
      const other = await group('other-datastore-check', (values[0] as [unknown, string])[0])
      const both = await api.api('PUT', `/instances/${inst.id}`, { instance: { name: 'renamed', configuration: other } })
      assert.equal(both.status, 202, JSON.stringify(both.body))
      const renamed = (await api.api('GET', `/instances/${inst.id}`)).body.instance
      assert.equal(renamed.name, 'renamed')
      assert.equal(renamed.configuration.id, other)
      assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { name: 'live', configuration: null } })).status, 202)
      assert.equal((await api.api('DELETE', `/configurations/${other}`)).status, 202)
    })
  })
}

describe('a fault belongs to the operation that failed', () => {
  let coffer: CofferProcess
  let api: TestClient
  let inst: Instance
  const datastore = { type: 'postgresql', version: '15' }
  const show = async () => (await api.api('GET', `/instances/${inst.id}`)).body.instance

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    inst = await readyInstance(api, 'faulty', datastore)
  })
  after(async () => coffer?.destroy())

  it('shows a refused apply as ERROR at the answer, and a restart mends it', async () => {
    // Within pg_settings' range, but PostgreSQL's own check refuses it at apply.
    const refused = await api.api('POST', '/configurations', { configuration: { name: 'refused', values: { max_connections: 262143 }, datastore } })
    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: refused.body.configuration.id } })).status, 202)
    const failed = await show()
    assert.equal(failed.status, 'ERROR', 'the answer came after the apply ended')
    assert.match(failed.fault.message, /Applying configuration failed/)
    assert.equal(typeof (await api.api('GET', `/instances/${inst.id}/configuration`)).body.instance.configuration.max_connections, 'number')

    assert.equal((await api.api('POST', `/instances/${inst.id}/action`, { restart: {} })).status, 202)
    const back = (await api.waitFor(inst.id, (r) => r.body?.instance?.status !== 'REBOOT' && r.body?.instance?.status !== 'ERROR')).body.instance
    assert.equal(back.status, 'ACTIVE', JSON.stringify(back))
    assert.equal(back.fault, undefined, 'a successful restart clears the fault it mends')

    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: null } })).status, 202)
    assert.equal((await show()).status, 'ACTIVE')
  })

  it('lets a detach mend a refused apply', async () => {
    const refused = await api.api('POST', '/configurations', { configuration: { name: 'refused-again', values: { max_connections: 262143 }, datastore } })
    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: refused.body.configuration.id } })).status, 202)
    assert.equal((await show()).status, 'ERROR')
    assert.equal((await api.api('PUT', `/instances/${inst.id}`, { instance: { configuration: null } })).status, 202)
    const mended = await show()
    assert.equal(mended.status, 'ACTIVE', JSON.stringify(mended))
    assert.equal(mended.fault, undefined)
  })
})
