import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { accountsOfHome, firstFreeUid } from './accounts.js'

const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'coffer-aaaa:x:200000:999:Coffer instance 11111111-2222-3333-4444-555555555555 of /srv/coffer:/nonexistent:/usr/sbin/nologin',
  'coffer-bbbb:x:200001:999:Coffer instance 66666666-2222-3333-4444-555555555555 of /other/home:/nonexistent:/usr/sbin/nologin',
  'coffer-cccc:x:200003:999:Coffer instance 77777777-2222-3333-4444-555555555555 of /srv/coffer:/nonexistent:/usr/sbin/nologin',
  'postgres:x:105:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash',
  '',
].join('\n')

describe('instance accounts', () => {
  it('take the lowest free uid of their own range, never a system uid', () => {
    assert.equal(firstFreeUid(passwd, 200_000), 200_002)
    assert.equal(firstFreeUid(passwd, 300_000), 300_000)
  })

  it('are found by the home that made them, and only by it', () => {
    assert.deepEqual(accountsOfHome(passwd, '/srv/coffer'), ['11111111-2222-3333-4444-555555555555', '77777777-2222-3333-4444-555555555555'])
    assert.deepEqual(accountsOfHome(passwd, '/other/home'), ['66666666-2222-3333-4444-555555555555'])
    assert.deepEqual(accountsOfHome(passwd, '/srv'), [])
  })
})
