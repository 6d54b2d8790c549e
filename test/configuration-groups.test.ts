/**
 * Configuration groups on real engines: values checked against the engine's own catalog, applied
 * live to every attached instance, restart-required values waiting for a restart, detach going
 * back to the defaults. Every value is read back from the engine with its own client.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient, type Reply } from './helpers/api-client.js'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { engineMains, processesUnder, type CofferProcess } from './helpers/coffer-process.js'
import { mariadbConfiguration, postgresqlConfiguration, redisConfiguration } from './helpers/engines.js'

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`${what} did not happen within ${timeoutMs / 1000} s`)
}

/** Per datastore: values the catalog refuses (as the security probe sent them), and one it passes that the engine refuses at apply. */
const badInput: Record<string, { refused: [Record<string, unknown>, RegExp][]; engineRefused?: Record<string, unknown>; skip?: string }> = {
  mariadb: {
    refused: [
      [{ time_zone: '+99:99' }, /time_zone is not allowed: it must be one of: SYSTEM; or an offset from UTC/],
      [{ character_set_server: 'nosuch' }, /'nosuch' for the configuration parameter character_set_server is not one of the \d+ values the engine knows/],
      [{ lc_time_names: '../../etc/passwd' }, /lc_time_names is not one of the \d+ values the engine knows/],
      [{ collation_server: 'nosuch_ci' }, /collation_server is not one of/],
      [{ sql_mode: 'ANSI;x' }, /item 'ANSI;x' in the value for the configuration parameter sql_mode is not one of/],
      [{ tx_isolation: 'CHAOS' }, /tx_isolation is not one of: READ-UNCOMMITTED/],
    ],
    // Each is a value the engine knows, but not together: the collation belongs to another character set.
    engineRefused: { character_set_server: 'latin1', collation_server: 'utf8mb4_bin' },
  },
  redis: {
    refused: [
      // Redis 7.0 takes 'zzz' (keeps 'z') yet publishes nothing without K or E; 'q' it refuses outright.
      [{ 'notify-keyspace-events': 'zzz' }, /notify-keyspace-events is not allowed: it must be letters from K E g/],
      [{ 'notify-keyspace-events': 'KEq' }, /notify-keyspace-events is not allowed/],
      [{ 'maxmemory-policy': 'lru' }, /maxmemory-policy is not one of: .*allkeys-lru/],
      [{ appendfsync: 'sometimes' }, /appendfsync is not one of: always, everysec, no/],
    ],
    skip: 'every value the Redis catalog passes, Redis 7.0 takes (its bounds are the engine\'s own)',
  },
  postgresql: {
    refused: [
      [{ log_statement: 'verbose' }, /log_statement is not one of: none, ddl, mod, all/],
      [{ default_transaction_isolation: '../../etc/passwd' }, /default_transaction_isolation is not one of/],
      [{ timezone: 'Mars/Olympus' }, /timezone is not supported/],
    ],
    // Within pg_settings' range (1..262143), but its check hook adds the worker and WAL sender slots and says no.
    engineRefused: { max_connections: 262143 },
  },
}

for (const cp of [postgresqlConfiguration, mariadbConfiguration, redisConfiguration]) {
  const { probe } = cp
  const bad = badInput[probe.datastore]!
  describe(`configuration groups on ${probe.datastore}`, () => {
    let coffer: CofferProcess
    let api: TestClient
    let group: string
    const instances: { id: string; host: string; port: number; root: { name: string; password: string } }[] = []
    const read = (i: (typeof instances)[number], name: string) => cp.read({ host: i.host, port: i.port }, i.root.name, i.root.password, name)
    const datastore = { type: probe.datastore, version: probe.version }

    const createInstance = async (name: string, configuration?: string) => {
      const r = await api.api('POST', '/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore, ...(configuration ? { configuration } : {}) } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      return r.body.instance.id as string
    }
    const ready = async (id: string) => {
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      const root = (await api.api('POST', `/instances/${id}/root`)).body.user
      instances.push({ id, host: inst.ip[0], port: inst.port, root })
    }
    const status = async (id: string) => (await api.api('GET', `/instances/${id}`)).body.instance.status

    before(async () => {
      ;({ coffer, api } = await startCofferAsAdmin())
    })
    after(async () => coffer?.destroy())

    it('lists the catalog read from the engine', async () => {
      const r = await api.api('GET', `/datastores/${probe.datastore}/versions/${probe.version}/parameters`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const names = r.body['configuration-parameters'].map((p: any) => p.name)
      assert.ok(names.includes(cp.live.name), names.join(','))
      const one = await api.api('GET', `/datastores/${probe.datastore}/versions/${probe.version}/parameters/${cp.live.name}`)
      assert.equal(one.body.name, cp.live.name)
      assert.equal(typeof one.body.restart_required, 'boolean')
      const byId = await api.api('GET', `/datastores/versions/${one.body.datastore_version_id}/parameters/${cp.live.name}`)
      assert.deepEqual(byId.body, one.body)
      assert.equal((await api.api('GET', `/datastores/${probe.datastore}/versions/${probe.version}/parameters/no_such_thing`)).status, 404)
    })

    it('refuses bad values, naming the parameter and the rule, and stores nothing', async () => {
      const post = (values: Record<string, unknown>) => api.api('POST', '/configurations', { configuration: { name: 'bad', values, datastore } })
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ no_such_param: 1 }, /no_such_param is not supported/],
        [cp.wrongType, /not of type/],
        [cp.outOfRange, /minimum|maximum/],
      ]
      for (const [values, message] of cases) {
        const r: Reply = await post(values)
        assert.equal(r.status, 400, JSON.stringify(r.body))
        assert.match(r.body.badRequest.message, message)
      }
      assert.deepEqual((await api.api('GET', '/configurations')).body.configurations, [])
    })

    it('applies a group at create and on attach, and follows updates on every instance', async () => {
      const created = await api.api('POST', '/configurations', { configuration: { name: 'tuned', description: 'test', values: { [cp.live.name]: cp.live.first }, datastore } })
      assert.equal(created.status, 200, JSON.stringify(created.body))
      group = created.body.configuration.id
      assert.equal(created.body.configuration.datastore_name, probe.datastore)

      const a = await createInstance('with-group', group)
      const b = await createInstance('attached-later')
      await ready(a)
      await ready(b)
      const [ia, ib] = instances as [(typeof instances)[number], (typeof instances)[number]]
      assert.equal(await read(ia, cp.live.name), cp.live.firstRead, 'applied at create')
      const defaultValue = await read(ib, cp.live.name)
      assert.notEqual(defaultValue, cp.live.firstRead)

      assert.equal((await api.api('PUT', `/instances/${b}`, { instance: { configuration: group } })).status, 202)
      await eventually('attach reaches the engine', async () => (await read(ib, cp.live.name)) === cp.live.firstRead)
      const attached = await api.api('GET', `/configurations/${group}/instances`)
      assert.deepEqual(attached.body.instances.map((i: any) => i.id).sort(), [a, b].sort())
      assert.equal((await api.api('GET', `/instances/${b}`)).body.instance.configuration.id, group)

      assert.equal((await api.api('PATCH', `/configurations/${group}`, { configuration: { values: { [cp.live.name]: cp.live.second } } })).status, 200)
      for (const i of [ia, ib]) await eventually('the update reaches every instance', async () => (await read(i, cp.live.name)) === cp.live.secondRead)
      const effective = await api.api('GET', `/instances/${a}/configuration`)
      assert.equal(String(effective.body.instance.configuration[cp.live.name]).replace(/\s/g, ''), String(cp.live.second))

      assert.equal((await api.api('PUT', `/instances/${b}`, { instance: { configuration: null } })).status, 202)
      await eventually('detach returns to the default', async () => (await read(ib, cp.live.name)) === defaultValue)
      assert.equal(await read(ia, cp.live.name), cp.live.secondRead, 'the other instance keeps the group')
    })

    it('puts instances in RESTART_REQUIRED for values that need a restart', async (t) => {
      if (!cp.restart) return t.skip(`no ${probe.datastore} parameter in this test needs a restart`)
      const { name, value, read: expected } = cp.restart
      const ia = instances[0]!
      const before = await read(ia, name)
      assert.equal((await api.api('PUT', `/configurations/${group}`, { configuration: { values: { [cp.live.name]: cp.live.second, [name]: value } } })).status, 202)
      await eventually('RESTART_REQUIRED', async () => (await status(ia.id)) === 'RESTART_REQUIRED')
      assert.equal(await read(ia, name), before, 'not applied before the restart')
      assert.equal((await api.api('POST', `/instances/${ia.id}/action`, { restart: {} })).status, 202)
      await eventually('ACTIVE after the restart', async () => (await status(ia.id)) === 'ACTIVE')
      assert.equal(await read(ia, name), expected)
    })

    it('refuses a group of another datastore, at create and on attach', async () => {
      const other = probe.datastore === 'redis' ? { type: 'postgresql', version: '15', values: { work_mem: 8192 } } : { type: 'redis', version: '7.0', values: { timeout: 60 } }
      // (a group for the same datastore but another version is refused the same way: the check is on the version id)
      const g = await api.api('POST', '/configurations', { configuration: { name: 'elsewhere', values: other.values, datastore: { type: other.type, version: other.version } } })
      assert.equal(g.status, 200, JSON.stringify(g.body))
      const attach = await api.api('PUT', `/instances/${instances[1]!.id}`, { instance: { configuration: g.body.configuration.id } })
      assert.equal(attach.status, 400)
      assert.match(attach.body.badRequest.message, /another datastore version/)
      const create = await api.api('POST', '/instances', { instance: { name: 'mismatch', flavorRef: '1', volume: { size: 1 }, datastore, configuration: g.body.configuration.id } })
      assert.equal(create.status, 400)
      assert.equal((await api.api('GET', `/instances/${instances[1]!.id}`)).body.instance.configuration, undefined)
      assert.equal((await api.api('DELETE', `/configurations/${g.body.configuration.id}`)).status, 202)
    })

    it('refuses to delete a group while attached, and deletes it once detached', async () => {
      const refused = await api.api('DELETE', `/configurations/${group}`)
      assert.equal(refused.status, 400)
      assert.match(refused.body.badRequest.message, /attached/)
      await api.api('PUT', `/instances/${instances[0]!.id}`, { instance: { configuration: null } })
      assert.equal((await api.api('DELETE', `/configurations/${group}`)).status, 202)
      assert.equal((await api.api('GET', `/configurations/${group}`)).status, 404)
    })

    it('lets admins set a version\'s default values, which groups override', async () => {
      const version = (await api.api('GET', `/datastores/${probe.datastore}/versions/${probe.version}`)).body.version.id
      const path = `/mgmt/datastores/versions/${version}/configuration`
      const ann = new TestClient(coffer.url)
      const project = await api.raw('POST', '/v3/projects', { project: { name: 'others' } })
      await api.raw('POST', '/v3/users', { user: { name: 'other', password: 'other-password', default_project_id: project.body.project.id } })
      await ann.login('other', 'other-password', 'others')
      assert.equal((await ann.api('PUT', path, { values: { [cp.live.name]: cp.live.first } })).status, 403, 'admins only')
      assert.equal((await api.api('PUT', path, { values: { no_such_param: 1 } })).status, 400)

      assert.equal((await api.api('PUT', path, { values: { [cp.live.name]: cp.live.second } })).status, 200)
      for (const i of instances) await eventually('the default reaches every instance', async () => (await read(i, cp.live.name)) === cp.live.secondRead)
      assert.deepEqual((await api.api('GET', path)).body.values, { [cp.live.name]: cp.live.second })
      assert.equal((await api.api('PUT', path, { values: {} })).status, 200)
      await eventually('back to the flavor default', async () => (await read(instances[0]!, cp.live.name)) !== cp.live.secondRead)
    })

    it('refuses values outside the engine\'s lists and formats at create, update and patch, and changes nothing', async () => {
      const ia = instances[0]!
      const g = await api.api('POST', '/configurations', { configuration: { name: 'good', values: { [cp.live.name]: cp.live.first }, datastore } })
      assert.equal(g.status, 200, JSON.stringify(g.body))
      const id = g.body.configuration.id
      assert.equal((await api.api('PUT', `/instances/${ia.id}`, { instance: { configuration: id } })).status, 202)
      await eventually('attached', async () => (await read(ia, cp.live.name)) === cp.live.firstRead)
      const groups = async () => (await api.api('GET', '/configurations')).body.configurations.map((c: any) => c.name).sort()
      const listed = await groups()
      // RESTART_REQUIRED when an earlier detach put a restart-only value back; either way it stays as it is.
      const statusBefore = await status(ia.id)
      for (const [values, message] of bad.refused) {
        const name = Object.keys(values)[0]!
        const running = name === 'timezone' ? undefined : await read(ia, name)
        const replies = {
          create: await api.api('POST', '/configurations', { configuration: { name: 'bad', values, datastore } }),
          put: await api.api('PUT', `/configurations/${id}`, { configuration: { values } }),
          patch: await api.api('PATCH', `/configurations/${id}`, { configuration: { values } }),
        }
        for (const [how, r] of Object.entries(replies)) {
          assert.equal(r.status, 400, `${how} ${JSON.stringify(values)}: ${JSON.stringify(r.body)}`)
          assert.equal(r.body.badRequest.code, 400)
          assert.match(r.body.badRequest.message, message, how)
        }
        assert.deepEqual((await api.api('GET', `/configurations/${id}`)).body.configuration.values, { [cp.live.name]: cp.live.first })
        if (running !== undefined) assert.equal(await read(ia, name), running, `${name} untouched on the instance`)
        assert.equal(await read(ia, cp.live.name), cp.live.firstRead)
        assert.equal(await status(ia.id), statusBefore)
      }
      assert.deepEqual(await groups(), listed, 'no group was created')
      const defaultValue = await read(instances[1]!, cp.live.name)
      assert.equal((await api.api('PUT', `/instances/${ia.id}`, { instance: { configuration: null } })).status, 202)
      await eventually('detached', async () => (await read(ia, cp.live.name)) === defaultValue)
      assert.equal((await api.api('DELETE', `/configurations/${id}`)).status, 202)
    })

    it('leaves an instance usable when the engine refuses an attached group: restart, detach and a fixed group work', async (t) => {
      if (!bad.engineRefused) return t.skip(bad.skip)
      const ib = instances[1]!
      const home = join(coffer.home, 'instances', ib.id)
      const defaultValue = await read(ib, cp.live.name)
      const refused = await api.api('POST', '/configurations', { configuration: { name: 'refused', values: bad.engineRefused, datastore } })
      assert.equal(refused.status, 200, JSON.stringify(refused.body))
      assert.equal((await api.api('PUT', `/instances/${ib.id}`, { instance: { configuration: refused.body.configuration.id } })).status, 202)
      await eventually('the refusal is reported', async () => (await status(ib.id)) === 'ERROR')
      const failed = (await api.api('GET', `/instances/${ib.id}`)).body.instance
      assert.match(failed.fault.message, new RegExp(`Applying configuration failed: .*${Object.keys(bad.engineRefused).at(-1)}`))
      assert.equal(await read(ib, cp.live.name), defaultValue, 'the engine keeps its previous settings')

      const before = engineMains(home)
      assert.ok(before.length > 0)
      assert.equal((await api.api('POST', `/instances/${ib.id}/action`, { restart: {} })).status, 202, 'restart is allowed')
      await eventually('the engine restarted', async () => {
        const now = engineMains(home)
        return now.length > 0 && !now.some((pid) => before.includes(pid)) && (await read(ib, cp.live.name).catch(() => undefined)) === defaultValue
      }, 60_000)
      await eventually('the restart task is done', async () => {
        const r = await api.api('PUT', `/instances/${ib.id}`, { instance: { configuration: null } })
        return r.status === 202
      }, 60_000)
      await eventually('detach clears the fault', async () => (await status(ib.id)) === 'ACTIVE')
      assert.equal((await api.api('GET', `/instances/${ib.id}`)).body.instance.fault, undefined)
      assert.equal(await read(ib, cp.live.name), defaultValue)

      const fixed = await api.api('POST', '/configurations', { configuration: { name: 'fixed', values: { [cp.live.name]: cp.live.first }, datastore } })
      assert.equal((await api.api('PUT', `/instances/${ib.id}`, { instance: { configuration: fixed.body.configuration.id } })).status, 202)
      await eventually('the fixed group is applied', async () => (await read(ib, cp.live.name)) === cp.live.firstRead)
      await eventually('ACTIVE with the fixed group', async () => (await status(ib.id)) === 'ACTIVE')
      assert.equal((await api.api('PUT', `/instances/${ib.id}`, { instance: { configuration: null } })).status, 202)
      await eventually('detached', async () => (await read(ib, cp.live.name)) === defaultValue)
      for (const g of [refused, fixed]) assert.equal((await api.api('DELETE', `/configurations/${g.body.configuration.id}`)).status, 202)
    })

    it('reports a failed apply on that instance only, and the others still follow', async () => {
      const [ia, ib] = instances as [(typeof instances)[number], (typeof instances)[number]]
      const g = await api.api('POST', '/configurations', { configuration: { name: 'both', values: { [cp.live.name]: cp.live.first }, datastore } })
      const id = g.body.configuration.id
      for (const i of [ia, ib]) assert.equal((await api.api('PUT', `/instances/${i.id}`, { instance: { configuration: id } })).status, 202)
      for (const i of [ia, ib]) await eventually('attached', async () => (await read(i, cp.live.name)) === cp.live.firstRead)
      // B's engine dies and something else takes its port, so neither the node's supervisor nor the
      // apply task's retries can bring it back: the next update cannot reach it.
      for (const pid of processesUnder(join(coffer.home, 'instances', ib.id))) process.kill(pid, 'SIGKILL')
      await eventually('B stopped', async () => processesUnder(join(coffer.home, 'instances', ib.id)).length === 0)
      const squatter = createServer()
      // The dead engine's listening socket can outlive its process by a moment.
      await eventually('the port is free to take', () => new Promise<boolean>((resolve) => {
        squatter.once('error', () => resolve(false))
        squatter.listen(ib.port, ib.host, () => resolve(true))
      }))
      try {
        assert.equal((await api.api('PATCH', `/configurations/${id}`, { configuration: { values: { [cp.live.name]: cp.live.second } } })).status, 200)
        await eventually('A follows', async () => (await read(ia, cp.live.name)) === cp.live.secondRead)
        await eventually('B reports the failure', async () => (await status(ib.id)) === 'ERROR')
      } finally {
        await new Promise((resolve) => squatter.close(resolve))
      }
      const b = (await api.api('GET', `/instances/${ib.id}`)).body.instance
      assert.match(b.fault.message, /Applying configuration failed/)
      // A may wait for a restart (the detach before put a restart-only value back), but it has no fault.
      const a = (await api.api('GET', `/instances/${ia.id}`)).body.instance
      assert.equal(a.fault, undefined, JSON.stringify(a))
      assert.ok(['ACTIVE', 'RESTART_REQUIRED'].includes(a.status), a.status)
    })
  })
}
