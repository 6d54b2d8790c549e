import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BadRequest } from './errors.js'
import type { NameRules } from './manifest.js'
import { limitItems, validateInitialSchema, validateInstanceName, validateLabel, validateName, validateUserHost } from './validation.js'

const rules: NameRules = {
  maxLength: 16,
  pattern: '[A-Za-z_][A-Za-z0-9_]*',
  patternText: 'letters, digits and underscores, not starting with a digit',
  reservedDatabases: ['postgres', 'template0'],
  reservedUsers: ['coffer_admin'],
  passwordMaxLength: 64,
}

describe('validation', () => {
  it('accepts ordinary names', () => {
    validateName(rules, 'database', 'orders_2024')
    validateInstanceName('my db (prod)')
  })
  for (const bad of ["a'; DROP DATABASE x; --", 'a`b', '1abc', '', 'x'.repeat(17), 'a\nb', 'a$$b', 'é"']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => validateName(rules, 'user', bad), BadRequest))
  }
  it('refuses reserved names whatever their case', () => {
    assert.throws(() => validateName(rules, 'database', 'Postgres'), /reserved/)
    assert.throws(() => validateName(rules, 'user', 'coffer_admin'), /reserved/)
  })
  it('refuses instance names with control characters', () => {
    assert.throws(() => validateInstanceName('a\u0000b'), BadRequest)
    assert.throws(() => validateInstanceName('   '), BadRequest)
  })
  it('checks users against the request databases and passwords', () => {
    validateInitialSchema(rules, [{ name: 'db1' }], [{ name: 'u1', password: 'Passw0rd-1', databases: [{ name: 'db1' }] }], 8)
    assert.throws(() => validateInitialSchema(rules, [], [{ name: 'u1', password: 'Passw0rd-1', databases: [{ name: 'db2' }] }], 8), /not in the request/)
    assert.throws(() => validateInitialSchema(rules, [], [{ name: 'u1', password: '', databases: [] }], 8), /needs a password/)
    assert.throws(() => validateInitialSchema(rules, [], [{ name: 'u1', password: 'short', databases: [] }], 8), /too short: passwords must have at least 8 characters/)
    validateInitialSchema(rules, [], [{ name: 'u1', password: 'short', databases: [] }], 0)
    assert.throws(() => validateInitialSchema(rules, [{ name: 'd' }, { name: 'd' }], [], 8), /twice/)
  })
  for (const [what, bad] of [['NUL', 'a\u0000b'], ['a newline', 'a\nb'], ['a lone surrogate', 'a\uD800b'], ['invalid UTF-8', 'a\uFFFDb'], ['a bidi override', 'a\u202Eb']]) {
    it(`refuses ${what} in every kind of name`, () => {
      assert.throws(() => validateLabel('flavor', bad as string), BadRequest)
      assert.throws(() => validateInstanceName(bad as string), BadRequest)
      assert.throws(() => validateName(rules, 'database', bad as string), /not valid/)
    })
  }
  it('accepts labels in any script, with emoji', () => validateLabel('configuration group', 'Zürich 東京 \u{1F600}'))
  it('caps a request at 100 items', () => {
    limitItems('users', 100)
    assert.throws(() => limitItems('users', 101), /at most 100 users; this one names 101/)
    assert.throws(() => validateInitialSchema(rules, Array.from({ length: 101 }, (_, i) => ({ name: `d${i}` })), [], 8), /at most 100 databases/)
  })
  it('allows a host only where the datastore has hosts', () => {
    validateUserHost({ name: 'mariadb', userHosts: true }, '10.0.0.%')
    assert.throws(() => validateUserHost({ name: 'postgresql' }, '%'), /have no host/)
    assert.throws(() => validateUserHost({ name: 'mariadb', userHosts: true }, "a' OR 1"), /not valid/)
  })
})
