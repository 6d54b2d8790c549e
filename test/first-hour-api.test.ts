/**
 * What a new user meets in the first hour, driven as they drove it: Trove's routes Coffer has not
 * built answer 501 saying so; quotas are shown and enforced; a create without a datastore takes the
 * default one; an unknown datastore's 404 lists those there are; `coffer` takes names for groups,
 * flavors and versions and says which matches an ambiguous name has; `coffer list`/`show` say
 * where to connect; weak passwords are refused and change nothing.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)
const haveClients = existsSync('/usr/bin/openstack') && existsSync('/usr/bin/trove')

describe('first hour: the API and the CLIs', () => {
  let coffer: CofferProcess
  let api: TestClient
  let scratch: string
  let cofferEnv: NodeJS.ProcessEnv
  let troveEnv: NodeJS.ProcessEnv
  let oscEnv: NodeJS.ProcessEnv
  let instanceId = ''
  const cli = async (...args: string[]) => (await run(COFFER_BIN, args, { env: cofferEnv, timeout: 120_000 })).stdout
  const trove = async (...args: string[]) => (await run('trove', args, { env: troveEnv, timeout: 60_000 })).stdout
  const openstack = async (...args: string[]) => (await run('openstack', args, { env: oscEnv, timeout: 60_000 })).stdout
  const failure = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p
    } catch (err) {
      return `${(err as { stderr?: string }).stderr ?? ''}${(err as Error).message}`
    }
    return assert.fail('the command succeeded')
  }

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    scratch = mkdtempSync('/tmp/coffer-first-hour-')
    cofferEnv = { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }
    const openrc = readFileSync(join(coffer.home, 'openrc'), 'utf8')
    troveEnv = { PATH: process.env.PATH, HOME: scratch, ...Object.fromEntries([...openrc.matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]])) }
    oscEnv = { PATH: process.env.PATH, HOME: scratch, OS_CLIENT_CONFIG_FILE: join(coffer.home, 'clouds.yaml'), OS_CLOUD: 'coffer' }
  })
  after(async () => {
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('answers 501 notImplemented, saying it is not built, on Trove routes of features not built', async () => {
    for (const [method, path] of [['GET', '/clusters'], ['GET', '/modules'], ['GET', '/instances/abc/ssl'], ['POST', '/backup_strategies'], ['GET', '/mgmt/instances']] as const) {
      const r = await api.api(method, path, method === 'POST' ? { backup_strategy: { instance_id: 'abc' } } : undefined)
      assert.equal(r.status, 501, `${method} ${path}: ${JSON.stringify(r.body)}`)
      assert.match(r.body.notImplemented.message, /^Not built in Coffer yet: /)
    }
    const limits = (await api.api('GET', '/limits')).body.limits
    assert.deepEqual(limits, [{ verb: 'ABSOLUTE', max_backups: 50, max_instances: 10, max_ram: -1, max_volumes: 40 }])
  })

  it('answers backups as Trove does: an empty list, and a 404 naming an unknown instance', async () => {
    assert.deepEqual((await api.api('GET', '/backups')).body, { backups: [] })
    const unknown = await api.api('POST', '/backups', { backup: { name: 'b', instance: '3dae56c2-34ab-4bcd-adde-bca7c0ac66cd' } })
    assert.equal(unknown.status, 404)
    assert.deepEqual(unknown.body, { itemNotFound: { code: 404, message: 'Resource 3dae56c2-34ab-4bcd-adde-bca7c0ac66cd cannot be found.' } })
    assert.equal((await api.api('GET', '/backups/a839575c-1711-4cc5-ad6c-d909973ed95c')).status, 404)
    assert.equal((await api.api('GET', '/backups')).body.backups.length, 0, 'nothing was stored')
  })

  it('says so through trove and openstack too', { skip: !haveClients && 'no trove/openstack CLI' }, async () => {
    assert.match(await failure(openstack('database', 'cluster', 'list')), /Not built in Coffer yet: Clusters.*HTTP 501/s)
    assert.match(await failure(trove('cluster-list')), /Not built in Coffer yet: Clusters/)
  })

  it('lists the datastores there are when a create names one that is not', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'seed', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mysql', version: '5.6' } } })
    assert.equal(r.status, 404)
    assert.match(r.body.itemNotFound.message, /^Datastore 'mysql' cannot be found\. Datastores here: .*postgresql \(15\)/)
    if (haveClients) assert.match(await failure(trove('create', 'seed', '1', '--size', '1', '--datastore', 'mysql', '--datastore_version', '5.6')), /Datastores here: .*postgresql/)
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
  })

  it('creates without a datastore (trove create), on the default one: PostgreSQL here', { skip: !haveClients && 'no trove CLI' }, async () => {
    const out = await trove('create', 'fh-db', 'm1.tiny', '--size', '1', '--databases', 'app', '--users', 'app:App-Passw0rd')
    instanceId = /\|\s*id\s*\|\s*(\S+)/.exec(out)?.[1] ?? ''
    const inst = (await api.waitActive(instanceId)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.equal(inst.datastore.type, 'postgresql')
  })

  it('takes groups, flavors and versions by name, and lists the matches of an ambiguous name', async () => {
    if (!instanceId) return
    await cli('configuration-create', 'tuned', '{"work_mem": 8192}', '--datastore', 'postgresql')
    assert.match(await cli('configuration-show', 'tuned'), /work_mem/)
    assert.equal(JSON.parse(await cli('flavor-show', 'm1.small', '--json')).name, 'm1.small')
    assert.equal(JSON.parse(await cli('datastore-version-show', '15', '--json')).name, '15')
    await cli('configuration-attach', 'fh-db', 'tuned')
    await api.waitFor(instanceId, (r) => r.body.instance.configuration?.name === 'tuned' && r.body.instance.status === 'ACTIVE')

    const twin = JSON.parse(await cli('configuration-create', 'tuned', '{"work_mem": 4096}', '--datastore', 'postgresql', '--json'))
    const why = await failure(cli('configuration-show', 'tuned'))
    assert.match(why, /more than one configuration group is named 'tuned': .*, .*; use an id/)
    assert.ok(why.includes(twin.id), why)
    await cli('configuration-delete', twin.id)
  })

  it('shows where to connect in coffer list and coffer show, and the group, volume and role', async () => {
    if (!instanceId) return
    const inst = (await api.api('GET', `/instances/${instanceId}`)).body.instance
    const where = `${inst.ip[0]}:${inst.port}`
    assert.deepEqual(inst.addresses, [{ address: inst.ip[0], type: 'private', network: coffer.instanceNetwork, port: inst.port }])
    assert.match(await cli('list'), new RegExp(`fh-db.*${where.replaceAll('.', '\\.')}`))
    const shown = await cli('show', 'fh-db')
    // The volume's line also says how it is kept (`1 GB (ext4-loop)` as root, `1 GB (folder)` else).
    for (const [field, value] of [['address', where], ['configuration', `tuned (${inst.configuration.id})`], ['volume', '1 GB'], ['replica_role', '-']] as const) {
      const rest = field === 'volume' ? '( \\([\\w-]+\\))?' : ''
      assert.match(shown, new RegExp(`│ ${field} +│ ${value.replace(/[.()]/g, '\\$&')}${rest} +│`), `${field} in\n${shown}`)
    }
    assert.match(shown, /│ volume_used +│/)
    if (haveClients) assert.match(await openstack('database', 'instance', 'list'), new RegExp(`'port': ${inst.port}`))
  })

  it('refuses weak passwords for users and root with the rule, and changes nothing', async () => {
    if (!instanceId) return
    const path = `/instances/${instanceId}`
    const rule = /at least 8 characters/
    const users = async () => (await api.api('GET', `${path}/users`)).body.users.map((u: { name: string }) => u.name)
    const before = await users()
    for (const [method, sub, body] of [
      ['POST', '/users', { users: [{ name: 'weak', password: 'short' }] }],
      ['PUT', '/users', { users: [{ name: 'app', password: 'short' }] }],
      ['PUT', '/users/app', { user: { password: 'short' } }],
      ['POST', '/root', { password: 'short' }],
    ] as const) {
      const r = await api.api(method, `${path}${sub}`, body)
      assert.equal(r.status, 400, `${method} ${sub}: ${JSON.stringify(r.body)}`)
      assert.match(r.body.badRequest.message, rule)
    }
    assert.deepEqual(await users(), before)
    assert.deepEqual((await api.api('GET', `${path}/root`)).body, { rootEnabled: false })
    const created = await api.api('POST', '/instances', { instance: { name: 'weak', flavorRef: '1', volume: { size: 1 }, users: [{ name: 'u', password: '1234567' }] } })
    assert.equal(created.status, 400)
    assert.match(created.body.badRequest.message, rule)
  })

  it('shows quotas (openstack database quota show) and enforces a PUT one at create', async () => {
    if (!instanceId) return
    const project = api.projectId
    const quota = async () => (await api.api('GET', `/mgmt/quotas/${project}`)).body.quotas
    assert.deepEqual(await quota(), [
      { resource: 'instances', in_use: 1, reserved: 0, limit: 10 },
      { resource: 'volumes', in_use: 1, reserved: 0, limit: 40 },
      { resource: 'backups', in_use: 0, reserved: 0, limit: 50 },
    ])
    if (haveClients) {
      const shown = JSON.parse(await openstack('database', 'quota', 'show', project, '-f', 'json'))
      assert.deepEqual(shown.find((q: any) => q.Resource === 'instances'), { Resource: 'instances', 'In Use': 1, Reserved: 0, Limit: 10 })
      await openstack('database', 'quota', 'update', project, 'instances', '1')
    } else {
      assert.equal((await api.api('PUT', `/mgmt/quotas/${project}`, { quotas: { instances: 1 } })).status, 200)
    }
    const body = { instance: { name: 'one-too-many', flavorRef: '1', volume: { size: 1 } } }
    const over = await api.api('POST', '/instances', body)
    assert.equal(over.status, 413, JSON.stringify(over.body))
    assert.match(over.body.overLimit.message, /Quota exceeded for resources: \['instances'\]/)

    const put = await api.api('PUT', `/mgmt/quotas/${project}`, { quotas: { instances: 5, volumes: 1 } })
    assert.deepEqual(put.body, { quotas: { instances: 5, volumes: 1 } })
    const overGb = await api.api('POST', '/instances', body)
    assert.equal(overGb.status, 413)
    assert.match(overGb.body.overLimit.message, /\['volumes'\].*1 in use \+ 1 asked > limit 1 GB/)
    assert.equal((await api.api('GET', '/instances')).body.instances.length, 1, 'nothing was created')
    assert.deepEqual((await api.api('GET', '/limits')).body.limits[0], { verb: 'ABSOLUTE', max_backups: 50, max_instances: 5, max_ram: -1, max_volumes: 1 })
    const unknown = await api.api('PUT', `/mgmt/quotas/${project}`, { quotas: { ram: 3 } })
    assert.equal(unknown.status, 400)
    assert.match(unknown.body.badRequest.message, /'ram' is unknown/)
    assert.equal((await api.api('GET', '/mgmt/quotas/no-such-project')).status, 404)
  })
})
