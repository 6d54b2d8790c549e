/**
 * The server's log, as an operator reads it: each API mutation and each task's start and end in
 * one JSON line with the instance id, and no password that a request carried.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

const SECRET = 'Never-in-the-log-42'

describe('server log', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_LOG_FORMAT: 'json' }))
  })
  after(async () => coffer?.destroy())

  it('has a line per mutation and per task with the instance id, and no password', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'logged', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'app', password: SECRET }] } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const id = r.body.instance.id
    assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
    assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
    await api.waitGone(id)
    await new Promise((r) => setTimeout(r, 300))
    const lines = coffer
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const create = lines.find((l) => l.event === 'api' && l.method === 'POST' && l.instance === id)
    assert.ok(create, 'the create is logged with its instance id')
    assert.equal(create.status, 200)
    assert.equal(create.project, api.projectId)
    assert.ok(lines.some((l) => l.event === 'api' && l.method === 'DELETE' && l.instance === id && l.status === 202), 'the delete is logged')
    for (const [kind, state] of [['create-instance', 'started'], ['create-instance', 'done'], ['delete-instance', 'started'], ['delete-instance', 'done']]) {
      assert.ok(lines.some((l) => l.event === 'task' && l.kind === kind && l.state === state && l.instance === id), `${kind} ${state}`)
    }
    assert.ok(lines.some((l) => l.event === 'api' && l.path === '/v3/auth/tokens' && l.status === 201), 'a login is a mutation too')
    assert.equal(coffer.output().includes(SECRET), false, 'no password in the log')
    assert.equal(coffer.output().includes(api.token), false, 'no token in the log')
  })
})
