/**
 * The task manager is durable: `coffer serve` killed with SIGKILL between any two steps of a create
 * (or a delete) is started again and finishes the job, never leaving an instance in BUILD and
 * never creating anything twice.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { pgCreateBody, TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, engineMains, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const exited = (c: CofferProcess) =>
  new Promise<void>((resolve) => (c.child.exitCode !== null || c.child.signalCode !== null ? resolve() : c.child.once('exit', () => resolve())))


describe('crash and resume', () => {
  const started: CofferProcess[] = []
  after(async () => Promise.all(started.map((c) => c.destroy())))

  for (const step of ['place', 'create-envelope', 'guest-prepare', 'wait-healthy']) {
    it(`a create killed right after '${step}' ends ACTIVE once, after a restart`, async () => {
      const coffer = await startCoffer({ COFFER_CRASH_AFTER_STEP: `create-instance:${step}` })
      started.push(coffer)
      const api = new TestClient(coffer.url)
      await api.login('admin', ADMIN_PASSWORD, 'admin')
      const body = pgCreateBody(`crash-${step}`, { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'app-pass-1', databases: [{ name: 'app' }] }] })
      const { body: created } = await api.api('POST', '/instances', body)
      const id = created.instance.id
      await exited(coffer)
      assert.equal(coffer.child.signalCode, 'SIGKILL', 'the fault point killed the server')

      await coffer.restart()
      await api.login('admin', ADMIN_PASSWORD, 'admin')
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      assert.deepEqual(readdirSync(join(coffer.home, 'instances')), [id], 'one envelope')
      assert.equal(engineMains(join(coffer.home, 'instances', id)).length, 1, 'one engine')
      assert.equal((await api.api('GET', '/instances')).body.instances.length, 1)

      const app = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'app', password: 'app-pass-1', database: 'app' })
      await app.connect()
      // Sessions in a granted database act as its owner role (postgresql/access.ts); the login is still app's.
      assert.equal((await app.query('SELECT session_user AS u')).rows[0].u, 'app')
      await app.end()

      await api.api('DELETE', `/instances/${id}`)
      await api.waitGone(id)
      assert.equal(existsSync(join(coffer.home, 'instances', id)), false)
    })
  }

  it('a create killed right after moving off a taken address ends ACTIVE at the new one, after a restart', async () => {
    const coffer = await startCoffer({ COFFER_TAKE_PORT_AFTER_PLACE: '1', COFFER_CRASH_AFTER_STEP: 'create-instance:move-port:*' })
    started.push(coffer)
    const api = new TestClient(coffer.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const body = pgCreateBody('crash-move', { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'app-pass-1', databases: [{ name: 'app' }] }] })
    const id = (await api.api('POST', '/instances', body)).body.instance.id
    await exited(coffer)
    assert.equal(coffer.child.signalCode, 'SIGKILL', 'the fault point killed the server')
    const taken = new RegExp(`instance ${id} could not listen on ([\\d.]+):(\\d+)`).exec(coffer.output())
    assert.ok(taken, 'the first address was found taken')

    await coffer.restart()
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const inst = (await api.waitActive(id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.notEqual(inst.ip[0], taken[1])
    assert.equal(inst.port, Number(taken[2]), 'on the same standard port')
    assert.equal(engineMains(join(coffer.home, 'instances', id)).length, 1, 'one engine')
    const app = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'app', password: 'app-pass-1', database: 'app' })
    await app.connect()
    assert.equal((await app.query('SELECT session_user AS u')).rows[0].u, 'app')
    await app.end()

    await api.api('DELETE', `/instances/${id}`)
    await api.waitGone(id)
  })

  for (const delayMs of [150, 400, 700]) {
    it(`a create killed ${delayMs} ms in, wherever that falls inside a step, ends ACTIVE once`, async () => {
      const coffer = await startCoffer()
      started.push(coffer)
      const api = new TestClient(coffer.url)
      await api.login('admin', ADMIN_PASSWORD, 'admin')
      const id = (await api.api('POST', '/instances', pgCreateBody(`kill-${delayMs}`, { databases: [{ name: 'app' }] }))).body.instance.id
      await new Promise((r) => setTimeout(r, delayMs))
      await coffer.kill('SIGKILL')
      await coffer.restart()
      await api.login('admin', ADMIN_PASSWORD, 'admin')
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      assert.equal(engineMains(join(coffer.home, 'instances', id)).length, 1, 'one engine')
      await api.api('DELETE', `/instances/${id}`)
      await api.waitGone(id)
    })
  }

  it('a delete killed after stopping the engine finishes after a restart', async () => {
    const coffer = await startCoffer({ COFFER_CRASH_AFTER_STEP: 'delete-instance:destroy' })
    started.push(coffer)
    const api = new TestClient(coffer.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const id = (await api.api('POST', '/instances', pgCreateBody('crash-delete'))).body.instance.id
    assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
    await api.api('DELETE', `/instances/${id}`)
    await exited(coffer)
    await coffer.restart()
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    await api.waitGone(id)
    assert.equal(existsSync(join(coffer.home, 'instances', id)), false)
    assert.deepEqual(processesUnder(join(coffer.home, 'instances')), [])
  })

  it('an instance deleted while it is still building goes away completely', async () => {
    const coffer = await startCoffer()
    started.push(coffer)
    const api = new TestClient(coffer.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const id = (await api.api('POST', '/instances', pgCreateBody('short-lived'))).body.instance.id
    const del = await api.api('DELETE', `/instances/${id}`)
    assert.equal(del.status, 202)
    await api.waitGone(id)
    // The create may have been mid-step when the delete came; give it no chance to leave anything.
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(existsSync(join(coffer.home, 'instances', id)), false)
    assert.deepEqual(processesUnder(join(coffer.home, 'instances')), [])
  })
})
