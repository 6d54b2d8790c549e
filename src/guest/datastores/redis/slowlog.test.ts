import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatEntry, redactArgs } from './slowlog.js'

describe('redis slow log lines', () => {
  it('takes passwords out by position, spaces and all', () => {
    assert.deepEqual(redactArgs(['ACL', 'SETUSER', 'x', 'on', '>Secret Pw 1', '#abc', '~*']), ['ACL', 'SETUSER', 'x', 'on', "'***'", "'***'", '~*'])
    assert.deepEqual(redactArgs(['auth', 'u', 'p w']), ['auth', 'u', "'***'"])
    assert.deepEqual(redactArgs(['HELLO', '3', 'AUTH', 'u', 'pw']), ['HELLO', '3', 'AUTH', 'u', "'***'"])
    assert.deepEqual(redactArgs(['MIGRATE', 'h', '1', '', '0', '5', 'AUTH', 'pw', 'KEYS', 'k']), ['MIGRATE', 'h', '1', '', '0', '5', 'AUTH', "'***'", 'KEYS', 'k'])
    assert.deepEqual(redactArgs(['CONFIG', 'SET', 'maxmemory', '1mb', 'requirepass', 'pw']), ['CONFIG', 'SET', 'maxmemory', '1mb', 'requirepass', "'***'"])
  })

  it('gives time, duration, client and the quoted command on one line', () => {
    const line = formatEntry([7, 0, 12, ['SET', 'k', 'a\nb'], '10.0.0.5:5000', ''])
    assert.equal(line, '1970-01-01T00:00:00.000Z id=7 duration=12us client=10.0.0.5:5000 "SET" "k" "a\\nb"\n')
    assert.doesNotMatch(formatEntry([1, 0, 1, ['ACL', 'SETUSER', 'x', '>Sec"ret'], 'a', '']), /Sec/)
  })
})
