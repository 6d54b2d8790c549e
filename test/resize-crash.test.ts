/**
 * A flavor resize is durable: `coffer serve` killed with SIGKILL right after any step of the resize
 * is started again and ends ACTIVE with the new flavor in GET and in the engine's tuning, one
 * engine, and the data kept: never half.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { pgCreateBody, TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, engineMains, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const STEPS = ['record-flavor', 'restart', 'wait-healthy', 'mark-resized']

const exited = (c: CofferProcess) =>
  new Promise<void>((resolve) => (c.child.exitCode !== null || c.child.signalCode !== null ? resolve() : c.child.once('exit', () => resolve())))

/** Runs `sql` as the app user at the instance's own address and port. */
async function query(inst: { readonly ip: readonly string[]; readonly port: number }, sql: string): Promise<any[]> {
  const c = new pg.Client({ host: inst.ip[0] ?? '127.0.0.1', port: inst.port, user: 'app', password: 'app-pass-1', database: 'app', connectionTimeoutMillis: 5000 })
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

describe('resize crash and resume', () => {
  const started: CofferProcess[] = []
  after(async () => Promise.all(started.map((c) => c.destroy())))

  for (const step of STEPS) {
    it(`a resize killed right after '${step}' ends ACTIVE with the new flavor, after a restart`, async () => {
      const coffer = await startCoffer({ COFFER_CRASH_AFTER_STEP: `resize-instance:${step}` })
      started.push(coffer)
      const api = new TestClient(coffer.url)
      await api.login('admin', ADMIN_PASSWORD, 'admin')
      const body = pgCreateBody(`resize-crash-${step}`, { databases: [{ name: 'app' }], users: [{ name: 'app', password: 'app-pass-1', databases: [{ name: 'app' }] }] })
      const id = (await api.api('POST', '/instances', body)).body.instance.id
      const inst = (await api.waitActive(id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      await query(inst, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')")
      assert.equal((await query(inst, "SELECT current_setting('shared_buffers') AS v"))[0].v, '128MB')

      assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { flavorRef: '2' } })).status, 202)
      await exited(coffer)
      assert.equal(coffer.child.signalCode, 'SIGKILL', 'the fault point killed the server')
      await coffer.restart()
      await api.login('admin', ADMIN_PASSWORD, 'admin')

      const done = (await api.waitActive(id)).body.instance
      assert.equal(done.status, 'ACTIVE', JSON.stringify(done))
      assert.equal(done.flavor.id, '2')
      assert.equal((await query(done, "SELECT current_setting('shared_buffers') AS v"))[0].v, '512MB', 'the engine runs with the new flavor')
      assert.equal((await query(done, 'SELECT v FROM kept'))[0].v, 'before')
      assert.equal(engineMains(join(coffer.home, 'instances', id)).length, 1, 'one engine')
      started.splice(started.indexOf(coffer), 1)
      await coffer.destroy()
    })
  }
})
