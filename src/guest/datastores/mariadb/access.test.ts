import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderInitConnect } from './access.js'

describe('MariaDB access', () => {
  it('lets the socket and the listed IPv4 networks in, in a statement with no quotes', () => {
    const sql = renderInitConnect(['127.0.0.2/32', '10.1.0.0/16'])
    assert.match(sql, /^SET @coffer_access = IF\(/)
    assert.match(sql, /= CHAR\(108,111,99,97,108,104,111,115,116\)/, 'localhost: the private socket')
    assert.match(sql, /CURRENT_USER\(\) = CHAR\(99,111,102,102,101,114,95,114,101,112,108,64,37\)/, 'the replication account, coffer_repl@%')
    assert.match(sql, /& 4294967295\) = 2130706434/, '127.0.0.2/32')
    assert.match(sql, /& 4294901760\) = 167837696/, '10.1.0.0/16')
    assert.match(sql, /0, \(SELECT 1 UNION SELECT 2\)\)$/, 'anything else fails, which ends the session')
    assert.doesNotMatch(sql, /['"#;\\]/)
  })
})
