/**
 * Roles mean what they say: `reader` only reads, `member` reads and writes its own project, the
 * `admin` role of an ordinary project is no cloud admin, and only the admin role on the admin
 * project reaches other projects and the admin routes. Tokens are validated and revoked only by
 * their user or the cloud admin; failed logins are throttled. One server, one Redis instance.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient, type Reply } from './helpers/api-client.js'
import { ADMIN_PASSWORD, type CofferProcess } from './helpers/coffer-process.js'

const PASSWORD = 'team-Passw0rd'
const redis = (name: string) => ({ instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } })

describe('roles', () => {
  let coffer: CofferProcess
  let admin: TestClient
  let reader: TestClient
  let member: TestClient
  let projectAdmin: TestClient
  let teamId = ''
  let instanceId = ''
  let versionId = ''

  const expect = async (who: TestClient, method: string, path: string, status: number, body?: unknown): Promise<Reply> => {
    const r = path.startsWith('/v') ? await who.raw(method, path, body) : await who.api(method, path, body)
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`)
    if (status === 403) assert.ok(path.startsWith('/v3') ? r.body.error.code === 403 : r.body.forbidden.code === 403, JSON.stringify(r.body))
    return r
  }
  const user = async (name: string, roles: { add?: string; remove?: string }) => {
    const u = await admin.raw('POST', '/v3/users', { user: { name, password: PASSWORD, default_project_id: teamId } })
    assert.equal(u.status, 201, JSON.stringify(u.body))
    const path = `/v3/projects/${teamId}/users/${u.body.user.id}/roles`
    if (roles.add) assert.equal((await admin.raw('PUT', `${path}/${roles.add}`)).status, 204)
    if (roles.remove) assert.equal((await admin.raw('DELETE', `${path}/${roles.remove}`)).status, 204)
    const c = new TestClient(coffer.url)
    const login = await c.login(name, PASSWORD, 'team')
    assert.equal(login.status, 201, JSON.stringify(login.body))
    return { client: c, roles: (login.body.token.roles as { name: string }[]).map((r) => r.name).sort() }
  }

  before(async () => {
    // A low threshold keeps the loopback slow-down of the throttling test short.
    ;({ coffer, api: admin } = await startCofferAsAdmin({ COFFER_LOGIN_FAILURES: '3' }))
    teamId = (await admin.raw('POST', '/v3/projects', { project: { name: 'team' } })).body.project.id
    const r = await user('rita', { add: 'reader', remove: 'member' })
    assert.deepEqual(r.roles, ['reader'])
    reader = r.client
    member = (await user('mia', {})).client
    const p = await user('pat', { add: 'admin' })
    assert.deepEqual(p.roles, ['admin', 'member'])
    projectAdmin = p.client
    const created = await member.api('POST', '/instances', redis('cache'))
    assert.equal(created.status, 200, JSON.stringify(created.body))
    instanceId = created.body.instance.id
    assert.equal((await member.waitActive(instanceId)).body.instance.status, 'ACTIVE')
    versionId = (await admin.api('GET', '/datastores/redis')).body.datastore.versions[0].id
  })
  after(async () => coffer?.destroy())

  const reads = (who: () => TestClient) => async () => {
    for (const path of ['/instances', `/instances/${instanceId}`, `/instances/${instanceId}/configuration`, `/instances/${instanceId}/users`, `/instances/${instanceId}/root`, '/configurations', '/flavors', '/flavors/1', '/datastores', '/limits']) {
      await expect(who(), 'GET', path, 200)
    }
  }
  const adminRoutes = (who: () => TestClient) => async () => {
    for (const path of ['/mgmt/spares', `/mgmt/instances/${instanceId}/root`, `/mgmt/datastores/versions/${versionId}/configuration`]) await expect(who(), 'GET', path, 403)
    await expect(who(), 'PUT', `/mgmt/datastores/versions/${versionId}/configuration`, 403, { values: {} })
    await expect(who(), 'POST', '/flavors', 403, { flavor: { name: 'mine', ram: 1024, vcpus: 1 } })
    await expect(who(), 'DELETE', '/flavors/1', 403)
    await expect(who(), 'GET', '/v3/projects', 403)
    await expect(who(), 'POST', '/v3/projects', 403, { project: { name: 'mine' } })
    await expect(who(), 'PUT', `/v3/projects/${teamId}/users/x/roles/admin`, 403)
    await expect(who(), 'POST', `/instances/${instanceId}/action`, 403, { reset_status: {} })
  }
  const otherProject = (who: () => TestClient) => async () => {
    await expect(who(), 'GET', `/v1.0/${admin.projectId}/instances`, 403)
    await expect(who(), 'POST', `/v1.0/${admin.projectId}/instances`, 403, redis('elsewhere'))
  }

  describe('reader', () => {
    it('reads everything of its project', reads(() => reader))
    it('is refused every write, and nothing changes', async () => {
      const i = `/instances/${instanceId}`
      await expect(reader, 'POST', '/instances', 403, redis('mine'))
      await expect(reader, 'PUT', i, 403, { instance: { name: 'renamed' } })
      await expect(reader, 'PATCH', i, 403, { instance: { name: 'renamed' } })
      await expect(reader, 'POST', `${i}/action`, 403, { restart: {} })
      await expect(reader, 'POST', `${i}/databases`, 403, { databases: [{ name: 'd' }] })
      await expect(reader, 'DELETE', `${i}/databases/d`, 403)
      await expect(reader, 'POST', `${i}/users`, 403, { users: [{ name: 'eve', password: PASSWORD }] })
      await expect(reader, 'DELETE', `${i}/users/eve`, 403)
      await expect(reader, 'POST', `${i}/root`, 403)
      await expect(reader, 'DELETE', `${i}/root`, 403)
      await expect(reader, 'POST', '/configurations', 403, { configuration: { name: 'g', values: {}, datastore: { type: 'redis' } } })
      await expect(reader, 'DELETE', i, 403)
      const after = (await reader.api('GET', i)).body.instance
      assert.equal(after.name, 'cache')
      assert.equal(after.status, 'ACTIVE')
      assert.deepEqual((await reader.api('GET', '/instances')).body.instances.map((x: { id: string }) => x.id), [instanceId])
      assert.equal((await reader.api('GET', `${i}/root`)).body.rootEnabled, false)
    })
    it('reaches no other project', otherProject(() => reader))
    it('reaches no admin route', adminRoutes(() => reader))
  })

  for (const [role, who] of [
    ['member', () => member],
    ['project admin', () => projectAdmin],
  ] as const) {
    describe(role, () => {
      it('reads everything of its project', reads(who))
      it('writes in its own project', async () => {
        const i = `/instances/${instanceId}`
        await expect(who(), 'PUT', i, 202, { instance: { name: `by-${role.replace(' ', '-')}` } })
        assert.equal((await who().api('GET', i)).body.instance.name, `by-${role.replace(' ', '-')}`)
        await expect(who(), 'POST', `${i}/users`, 202, { users: [{ name: 'eve', password: PASSWORD }] })
        await expect(who(), 'DELETE', `${i}/users/eve`, 202)
        // Past the role check: Redis has no databases.
        await expect(who(), 'POST', `${i}/databases`, 501, { databases: [{ name: 'd' }] })
        await expect(who(), 'POST', `${i}/root`, 200)
        await expect(who(), 'DELETE', `${i}/root`, 204)
        const g = await expect(who(), 'POST', '/configurations', 200, { configuration: { name: 'g', values: {}, datastore: { type: 'redis' } } })
        await expect(who(), 'DELETE', `/configurations/${g.body.configuration.id}`, 202)
      })
      it('reaches no other project', otherProject(who))
      it('reaches no admin route', adminRoutes(who))
    })
  }

  it('member: creates, restarts and deletes instances of its project', async () => {
    const other = await projectAdmin.api('POST', '/instances', redis('short-lived'))
    assert.equal(other.status, 200, JSON.stringify(other.body))
    await expect(member, 'DELETE', `/instances/${other.body.instance.id}`, 202)
    await member.waitGone(other.body.instance.id)
    await expect(member, 'POST', `/instances/${instanceId}/action`, 202, { restart: {} })
    assert.equal((await member.waitActive(instanceId)).body.instance.status, 'ACTIVE')
  })

  describe('tokens', () => {
    const subject = (who: TestClient, method: string, token: string) => who.raw(method, '/v3/auth/tokens', undefined, { 'x-subject-token': token })

    it('only their user or the cloud admin validates or revokes them', async () => {
      const g = await subject(projectAdmin, 'GET', member.token)
      assert.equal(g.status, 403)
      assert.equal(g.body.error.code, 403, 'Keystone error shape')
      assert.equal((await subject(reader, 'GET', member.token)).status, 403)
      assert.equal((await subject(projectAdmin, 'DELETE', member.token)).status, 403)
      assert.equal((await member.api('GET', '/instances')).status, 200, 'still valid')

      const own = await subject(member, 'GET', member.token)
      assert.equal(own.status, 200)
      assert.equal(own.body.token.user.name, 'mia')
      const seen = await subject(admin, 'GET', member.token)
      assert.equal(seen.status, 200)
      assert.equal(seen.body.token.project.id, teamId)
    })

    it('revoked by their user or the cloud admin stop working', async () => {
      for (const by of ['self', 'admin'] as const) {
        const c = new TestClient(coffer.url)
        assert.equal((await c.login('mia', PASSWORD, 'team')).status, 201)
        assert.equal((await subject(by === 'self' ? c : admin, 'DELETE', c.token)).status, 204, by)
        assert.equal((await c.api('GET', '/instances')).status, 401, by)
      }
      assert.equal((await member.api('GET', '/instances')).status, 200, 'other tokens of the user live on')
    })
  })

  describe('cloud admin', () => {
    it('reaches admin routes', async () => {
      await expect(admin, 'GET', '/mgmt/spares', 200)
      const h = await expect(admin, 'GET', `/mgmt/instances/${instanceId}/root`, 200)
      assert.notEqual(h.body.root_history.enabled, 'Never')
      await expect(admin, 'GET', '/v3/projects', 200)
    })

    it('resets and deletes another project\'s instance through its own project\'s URL', async () => {
      const mine = `/v1.0/${admin.projectId}/instances/${instanceId}`
      assert.equal((await expect(admin, 'GET', mine, 200)).body.instance.id, instanceId)
      await expect(admin, 'POST', `${mine}/action`, 202, { reset_status: {} })
      const back = (await member.waitFor(instanceId, (r) => r.body?.instance?.status === 'ACTIVE')).body.instance
      assert.equal(back.fault, undefined)
      assert.equal((await admin.api('GET', '/instances')).body.instances.length, 0, 'lists stay per project')
      await expect(admin, 'DELETE', mine, 202)
      await member.waitGone(instanceId)
    })
  })

  describe('login throttling', () => {
    const login = (user: string, password: string, project: string) => new TestClient(coffer.url).login(user, password, project)

    it('the admin on the node itself is never locked out, only slowed', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login('admin', 'wrong', 'admin')).status, 401)
      assert.equal((await login('admin', ADMIN_PASSWORD, 'admin')).status, 201)
    })

    it('after the allowed failures a user name is refused even the right password, saying to wait', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await login('rita', 'wrong', 'team')).status, 401)
      const locked = await login('rita', PASSWORD, 'team')
      assert.equal(locked.status, 401)
      assert.match(locked.body.error.message, /Too many failed logins; try again in \d+ seconds/)
      assert.ok(Number(locked.headers.get('retry-after')) > 0)
      assert.equal((await login('mia', PASSWORD, 'team')).status, 201, 'other users are not locked')
    })
  })
})
