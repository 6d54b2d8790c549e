/**
 * Databases, users, access and root through Trove's API on every datastore, each shown by logging
 * in as the user afterwards with the engine's own client.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, mariadbProbe, postgresqlProbe, redisProbe, type Where } from './helpers/engines.js'

const INJECTIONS = ["a'; DROP DATABASE x; --", 'a`b', 'a"b', 'a$$b', 'a\nb', 'ünï', 'a b', '../x']

for (const probe of [postgresqlProbe, mariadbProbe, redisProbe]) {
  describe(`schema, users and root on ${probe.datastore}`, () => {
    let coffer: CofferProcess
    let api: TestClient
    let id: string
    let port: Where
    let caps: Record<string, boolean>
    const path = (p: string) => `/instances/${id}${p}`

    before(async () => {
      ;({ coffer, api } = await startCofferAsAdmin())
      const v = await api.api('GET', `/datastores/${probe.datastore}/versions/${probe.version}`)
      assert.equal(v.status, 200, `${probe.datastore} ${probe.version} is offered: ${JSON.stringify(v.body)}`)
      caps = v.body.version.capabilities
      const created = await api.api('POST', '/instances', { instance: { name: `schema-${probe.datastore}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: probe.datastore, version: probe.version } } })
      assert.equal(created.status, 200, JSON.stringify(created.body))
      id = created.body.instance.id
      const active = (await api.waitActive(id)).body.instance
      assert.equal(active.status, 'ACTIVE', JSON.stringify(active))
      port = at(active)
    })
    after(async () => coffer?.destroy())

    it('creates, lists and deletes databases', async (t) => {
      if (!caps.databases) {
        const r = await api.api('GET', path('/databases'))
        assert.equal(r.status, 501, 'a datastore without databases says so')
        assert.ok(r.body.notImplemented)
        return t.skip(`${probe.datastore} has no databases`)
      }
      assert.equal((await api.api('POST', path('/databases'), { databases: [{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }] })).status, 202)
      const names = (await api.api('GET', path('/databases'))).body.databases.map((d: any) => d.name)
      assert.deepEqual(names, ['alpha', 'beta', 'gamma'])
      const page1 = await api.api('GET', path('/databases?limit=2'))
      assert.deepEqual(page1.body.databases.map((d: any) => d.name), ['alpha', 'beta'])
      assert.match(page1.body.links[0].href, /marker=beta/)
      const page2 = await api.api('GET', path('/databases?limit=2&marker=beta'))
      assert.deepEqual(page2.body.databases.map((d: any) => d.name), ['gamma'])
      const dup = await api.api('POST', path('/databases'), { databases: [{ name: 'alpha' }] })
      assert.equal(dup.status, 400)
      assert.match(dup.body.badRequest.message, /already exists/)
      assert.equal((await api.api('DELETE', path('/databases/gamma'))).status, 202)
      assert.equal((await api.api('DELETE', path('/databases/gamma'))).status, 404)
      assert.deepEqual((await api.api('GET', path('/databases'))).body.databases.map((d: any) => d.name), ['alpha', 'beta'])
    })

    it('refuses reserved and hostile names with a clean 400', async () => {
      const reservedUser = probe.datastore === 'redis' ? 'default' : 'root'
      const r = await api.api('POST', path('/users'), { users: [{ name: reservedUser, password: 'x-password' }] })
      assert.equal(r.status, 400, JSON.stringify(r.body))
      assert.match(r.body.badRequest.message, /reserved/)
      if (caps.databases) {
        const sys = probe.datastore === 'postgresql' ? 'postgres' : 'mysql'
        const d = await api.api('DELETE', path(`/databases/${sys}`))
        assert.equal(d.status, 400)
        assert.match(d.body.badRequest.message, /reserved/)
      }
      for (const bad of INJECTIONS) {
        const u = await api.api('POST', path('/users'), { users: [{ name: bad, password: 'p-assword' }] })
        assert.equal(u.status, 400, `user ${JSON.stringify(bad)}: ${JSON.stringify(u.body)}`)
        if (caps.databases) assert.equal((await api.api('POST', path('/databases'), { databases: [{ name: bad }] })).status, 400, `database ${JSON.stringify(bad)}`)
      }
      // Passwords are data, not syntax: a hostile one works as a password and nothing else.
      const tricky = "p'; DROP USER x; --`$$\"\\"
      assert.equal((await api.api('POST', path('/users'), { users: [{ name: 'quoted', password: tricky, databases: caps.databases ? [{ name: 'alpha' }] : [] }] })).status, 202)
      assert.ok(await probe.canUse(port, 'quoted', tricky, caps.databases ? 'alpha' : undefined))
      assert.equal((await api.api('DELETE', path('/users/quoted'))).status, 202)
    })

    it('creates users that can use their databases, and only those', async () => {
      const databases = caps.databases ? [{ name: 'alpha' }] : []
      assert.equal((await api.api('POST', path('/users'), { users: [{ name: 'ann', password: 'ann-pass-1', databases }] })).status, 202)
      assert.ok(await probe.canUse(port, 'ann', 'ann-pass-1', caps.databases ? 'alpha' : undefined), 'ann can work')
      assert.equal(await probe.canUse(port, 'ann', 'wrong-pass', caps.databases ? 'alpha' : undefined), false, 'wrong password fails')
      if (caps.databases) assert.equal(await probe.canUse(port, 'ann', 'ann-pass-1', 'beta'), false, 'ann cannot use beta')
      const shown = await api.api('GET', path('/users/ann'))
      assert.equal(shown.status, 200)
      assert.equal(shown.body.user.name, 'ann')
      assert.deepEqual(shown.body.user.databases, databases)
      assert.ok((await api.api('GET', path('/users'))).body.users.some((u: any) => u.name === 'ann'))
      assert.equal((await api.api('GET', path('/users/nobody'))).status, 404)
      const dup = await api.api('POST', path('/users'), { users: [{ name: 'ann', password: 'x-pass-123' }] })
      assert.equal(dup.status, 400)
    })

    it('grants and revokes access', async (t) => {
      if (!caps.databases) {
        assert.equal((await api.api('PUT', path('/users/ann/databases'), { databases: [{ name: 'x' }] })).status, 501)
        return t.skip(`${probe.datastore} has no databases to grant`)
      }
      assert.equal((await api.api('PUT', path('/users/ann/databases'), { databases: [{ name: 'beta' }] })).status, 202)
      assert.ok(await probe.canUse(port, 'ann', 'ann-pass-1', 'beta'), 'granted beta')
      assert.deepEqual((await api.api('GET', path('/users/ann/databases'))).body.databases.map((d: any) => d.name).sort(), ['alpha', 'beta'])
      assert.equal((await api.api('DELETE', path('/users/ann/databases/beta'))).status, 202)
      assert.equal(await probe.canUse(port, 'ann', 'ann-pass-1', 'beta'), false, 'revoked beta')
      assert.ok(await probe.canUse(port, 'ann', 'ann-pass-1', 'alpha'), 'alpha still granted')
      assert.equal((await api.api('PUT', path('/users/ann/databases'), { databases: [{ name: 'nope' }] })).status, 404)
    })

    it('changes a password and renames a user', async () => {
      assert.equal((await api.api('PUT', path('/users/ann'), { user: { password: 'ann-pass-2' } })).status, 202)
      const db = caps.databases ? 'alpha' : undefined
      assert.ok(await probe.canUse(port, 'ann', 'ann-pass-2', db), 'new password works')
      assert.equal(await probe.canUse(port, 'ann', 'ann-pass-1', db), false, 'old password does not')
      assert.equal((await api.api('PUT', path('/users/ann'), { user: { name: 'anne' } })).status, 202)
      assert.ok(await probe.canUse(port, 'anne', 'ann-pass-2', db), 'renamed user logs in')
      assert.equal(await probe.canUse(port, 'ann', 'ann-pass-2', db), false, 'old name is gone')
      assert.equal((await api.api('PUT', path('/users'), { users: [{ name: 'anne', password: 'ann-pass-3' }] })).status, 202)
      assert.ok(await probe.canUse(port, 'anne', 'ann-pass-3', db), 'bulk password change')
    })

    it('deletes a user, who then cannot log in', async () => {
      assert.equal((await api.api('DELETE', path('/users/anne'))).status, 202)
      assert.equal(await probe.canUse(port, 'anne', 'ann-pass-3', caps.databases ? 'alpha' : undefined), false)
      assert.equal((await api.api('DELETE', path('/users/anne'))).status, 404)
    })

    it('enables root with a working superuser login, shows it, and disables it', async () => {
      assert.deepEqual((await api.api('GET', path('/root'))).body, { rootEnabled: false })
      const r = await api.api('POST', path('/root'))
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const { name, password } = r.body.user
      assert.ok(password.length >= 16)
      assert.ok(await probe.isSuperuser(port, name, password), 'root works')
      assert.deepEqual((await api.api('GET', path('/root'))).body, { rootEnabled: true })
      const again = await api.api('POST', path('/root'))
      assert.notEqual(again.body.user.password, password, 'a new password each time')
      assert.equal(await probe.isSuperuser(port, name, password), false, 'the old root password stops working')
      const history = await api.api('GET', `/mgmt/instances/${id}/root`)
      assert.equal(history.status, 200)
      assert.equal(history.body.root_history.id, id)
      assert.equal((await api.api('DELETE', path('/root'))).status, 204)
      assert.equal(await probe.isSuperuser(port, name, again.body.user.password), false, 'root disabled')
    })

    it('answers 422 while the instance is not ready', async () => {
      const building = await api.api('POST', '/instances', { instance: { name: 'not-yet', flavorRef: '1', volume: { size: 1 }, datastore: { type: probe.datastore, version: probe.version } } })
      const r = await api.api('GET', `/instances/${building.body.instance.id}/users`)
      assert.equal(r.status, 422, JSON.stringify(r.body))
      assert.match(r.body.unprocessableEntity.message, /not ready/)
      await api.api('DELETE', `/instances/${building.body.instance.id}`)
      await api.waitGone(building.body.instance.id)
    })
  })
}
