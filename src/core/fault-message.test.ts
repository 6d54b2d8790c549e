import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CofferError } from './errors.js'
import { faultOf, tenantMessage } from './fault-message.js'

describe('fault messages', () => {
  it('keep host paths and log lines from tenants', () => {
    const msg = "ENOENT: no such file or directory, open '/var/lib/coffer/instances/abc/volume/data'\nLog:\n2026 FATAL: /etc/passwd"
    assert.equal(tenantMessage(msg), "ENOENT: no such file or directory, open '<path>'")
  })
  it('give administrators the whole text and the details', () => {
    const f = faultOf(new CofferError('ENGINE', 'PostgreSQL exited while starting', { details: 'FATAL: bad' }))
    assert.deepEqual(f, { message: 'PostgreSQL exited while starting', details: 'FATAL: bad' })
    assert.deepEqual(faultOf(new CofferError('ENGINE', 'cannot open /a/b/c')), { message: 'cannot open <path>', details: 'cannot open /a/b/c' })
    assert.deepEqual(faultOf(new CofferError('ENGINE', 'plain')), { message: 'plain', details: null })
  })
})
