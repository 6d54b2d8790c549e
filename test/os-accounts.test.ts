/**
 * Instance accounts come from Coffer's own uid range and name the home that made them; at start a
 * home removes its own accounts whose instance is gone, and never another home's.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { accountName, ENGINE_GROUP, UID_FIRST } from '../src/compute/local/accounts.js'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

const entry = (name: string) => readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
const addAccount = (id: string, home: string) =>
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--gid', ENGINE_GROUP, '--comment', `Coffer instance ${id} of ${home}`, accountName(id)])

describe('instance OS accounts', { skip: process.getuid?.() !== 0 && 'per-instance accounts need root' }, () => {
  let coffer: CofferProcess
  let api: TestClient
  const otherHomes: string[] = []
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => {
    for (const id of otherHomes) execFileSync('userdel', [accountName(id)], { stdio: 'ignore' })
    await coffer?.destroy()
  })

  it('gives an instance an account from its own uid range, marked with the home', async () => {
    const r = await api.api('POST', '/instances', { instance: { name: 'acct', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } })
    const id = r.body.instance.id as string
    assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
    const [, , uid, , comment] = entry(accountName(id))?.split(':') ?? []
    assert.ok(Number(uid) >= UID_FIRST, `uid ${uid} is in Coffer's range`)
    assert.equal(comment, `Coffer instance ${id} of ${coffer.home}`)
    await api.api('DELETE', `/instances/${id}`)
    await api.waitFor(id, (x) => x.status === 404)
    assert.equal(entry(accountName(id)), undefined)
  })

  it("removes at start this home's accounts whose instance is gone, and leaves another home's", async () => {
    const mine = randomUUID()
    const theirs = randomUUID()
    otherHomes.push(theirs)
    addAccount(mine, coffer.home)
    addAccount(theirs, '/tmp/some-other-coffer-home')
    await coffer.kill()
    await coffer.restart()
    assert.equal(entry(accountName(mine)), undefined, 'the leftover of this home is removed')
    assert.ok(entry(accountName(theirs)), "another home's account stays")
    assert.match(coffer.output(), /removed 1 OS account\(s\) this home made/)
  })
})
