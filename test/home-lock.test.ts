/**
 * One `coffer serve` per home: a second one on the same home (another port) is refused with a
 * message naming the first; a lock left by a killed server is taken over.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { COFFER_BIN, freePort, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

describe('one server per home', () => {
  let coffer: CofferProcess
  before(async () => {
    coffer = await startCoffer()
  })
  after(async () => coffer?.destroy())

  const secondServe = async () =>
    spawnSync(COFFER_BIN, ['serve', '--port', String(await freePort()), '--bind', '127.0.0.1'], {
      env: { ...process.env, COFFER_HOME: coffer.home, COFFER_SPARES: 'none' },
      encoding: 'utf8',
      timeout: 30_000,
    })

  it('refuses a second serve on the same home, naming the running one', async () => {
    const r = await secondServe()
    assert.notEqual(r.status, 0, r.stdout)
    assert.match(r.stderr, new RegExp(`another coffer serve \\(pid ${coffer.child.pid}, ${coffer.url.replaceAll('.', '\\.')}\\) already runs on the home`))
    // The first one still serves.
    assert.equal((await fetch(`${coffer.url}/`)).status, 200)
  })

  it('takes over the lock of a server that was killed', async () => {
    await coffer.kill('SIGKILL')
    await coffer.restart()
    assert.equal((await fetch(`${coffer.url}/`)).status, 200)
    const r = await secondServe()
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, new RegExp(`pid ${coffer.child.pid}\\b`))
  })
})
