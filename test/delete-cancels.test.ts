/**
 * A delete never waits behind work on its instance, and never stalls the node: a delete of an
 * instance whose create is stuck in a step cancels that step and goes on at once; a delete of a
 * volume with a great many files leaves the API answering and other instances' heartbeats flowing.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { accountName } from '../src/compute/local/accounts.js'
import { LocalComputeDriver } from '../src/compute/local/local-compute-driver.js'
import { statePath } from '../src/private-home.js'
import { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const redisBody = (name: string) => ({ instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } })
const hasAccount = (id: string) => readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${accountName(id)}:`))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time`)
    await sleep(100)
  }
}

/** Nothing of the instance is left on the node: no engine, no OS account, no folder. */
function assertNothingLeft(coffer: CofferProcess, id: string): void {
  const dir = join(coffer.home, 'instances', id)
  assert.deepEqual(processesUnder(dir), [], 'no engine process')
  assert.equal(existsSync(dir), false, 'no folder')
  if (process.getuid?.() === 0) assert.equal(hasAccount(id), false, 'no OS account')
}

describe('a delete cancels and never stalls', () => {
  const started: CofferProcess[] = []
  after(async () => Promise.all(started.map((c) => c.destroy())))

  it('deletes an instance whose create is stuck in a step: the step is cancelled and the delete goes on', { timeout: 180_000 }, async () => {
    // guest-prepare starts the engine, then never returns until cancelled.
    const coffer = await startCoffer({ COFFER_STALL_STEP: 'create-instance:guest-prepare' })
    started.push(coffer)
    const api = new TestClient(coffer.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const id = (await api.api('POST', '/instances', redisBody('stuck'))).body.instance.id
    const dir = join(coffer.home, 'instances', id)
    await until('the engine start', () => processesUnder(dir).length > 0)
    assert.equal((await api.api('GET', `/instances/${id}`)).body.instance.status, 'BUILD')

    assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
    await api.waitGone(id)
    assert.match(coffer.output(), new RegExp(`task create-instance \\S+ cancelled`))
    assertNothingLeft(coffer, id)
  })

  it('removes a volume of 200,000 files while the API answers and other instances keep their heartbeats', { timeout: 300_000 }, async (t) => {
    // A folder volume: its tree is removed file by file (a loop volume goes with its image, at once,
    // and a 1 GB ext4 has too few inodes for 200,000 files).
    const coffer = await startCoffer({ COFFER_VOLUME_LOOP: 'off' })
    started.push(coffer)
    const api = new TestClient(coffer.url)
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const big = (await api.api('POST', '/instances', redisBody('big'))).body.instance.id
    const other = (await api.api('POST', '/instances', redisBody('other'))).body.instance.id
    for (const id of [big, other]) assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')

    const volume = new LocalComputeDriver(coffer.home, '127.0.0.1').paths(big).volumeDir
    execFileSync('sh', ['-c', 'mkdir -p "$1/junk" && cd "$1/junk" && seq -f "f%06g" 1 200000 | xargs touch', 'sh', volume])
    const state = new Database(statePath(coffer.home), { readonly: true, fileMustExist: true })
    t.after(() => state.close())
    const heartbeatOf = (id: string) => Number((state.prepare('SELECT heartbeat_at FROM instances WHERE id = ?').get(id) as { heartbeat_at: number }).heartbeat_at)
    await until('a heartbeat of the other instance', () => heartbeatOf(other) > 0)
    const beforeDelete = heartbeatOf(other)

    assert.equal((await api.api('DELETE', `/instances/${big}`)).status, 202)
    const answers: number[] = []
    let maxApiGapMs = 0
    let maxBeatGapMs = 0
    let lastAnswer = performance.now()
    let lastBeat = heartbeatOf(other)
    let lastBeatSeen = performance.now()
    for (;;) {
      const res = await fetch(`${coffer.url}/`)
      answers.push(res.status)
      const now = performance.now()
      maxApiGapMs = Math.max(maxApiGapMs, now - lastAnswer)
      lastAnswer = now
      if (heartbeatOf(other) !== lastBeat) {
        lastBeat = heartbeatOf(other)
        lastBeatSeen = now
      }
      maxBeatGapMs = Math.max(maxBeatGapMs, now - lastBeatSeen)
      if ((await api.api('GET', `/instances/${big}`)).status === 404) break
      await sleep(100)
    }
    t.diagnostic(`API answered ${answers.length} times during the delete; longest gap ${Math.round(maxApiGapMs)} ms; longest heartbeat gap ${Math.round(maxBeatGapMs)} ms`)
    assert.ok(answers.length > 0)
    assert.ok(answers.every((s) => s === 200), `every GET / answered: ${answers.join(',')}`)
    await until('a heartbeat of the other instance after the delete', () => heartbeatOf(other) > beforeDelete)
    assert.equal((await api.api('GET', `/instances/${other}`)).body.instance.status, 'ACTIVE')
    assertNothingLeft(coffer, big)
  })
})
