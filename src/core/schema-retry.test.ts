import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { refuseDuplicateDatabases, refuseDuplicateUsers } from './schema-retry.js'

describe('retries of many databases or users', () => {
  const existing = [{ name: 'a', character_set: 'UTF8', collate: 'C.utf8' }]
  it('go on when the existing ones are as asked', () => {
    refuseDuplicateDatabases(existing, [{ name: 'a', character_set: 'utf-8' }, { name: 'b' }])
    refuseDuplicateUsers([{ name: 'u1', databases: [] }], [{ name: 'u1', databases: [{ name: 'a' }] }, { name: 'u2', databases: [] }], false)
  })
  it('are duplicates when every item exists', () => {
    assert.throws(() => refuseDuplicateDatabases(existing, [{ name: 'a' }]), /"a" already exists/)
    assert.throws(() => refuseDuplicateUsers([{ name: 'u', host: '%', databases: [] }], [{ name: 'u', databases: [] }], true), /"u" already exists/)
  })
  it('are duplicates when an existing one differs', () => {
    assert.throws(() => refuseDuplicateDatabases(existing, [{ name: 'a', character_set: 'LATIN1' }, { name: 'b' }]), /"a" already exists/)
    assert.throws(() => refuseDuplicateUsers([{ name: 'u', databases: [{ name: 'x' }] }], [{ name: 'u', databases: [] }, { name: 'v', databases: [] }], false), /"u" already exists/)
  })
  it('tell users of other hosts apart', () => {
    refuseDuplicateUsers([{ name: 'u', host: 'localhost', databases: [] }], [{ name: 'u', host: '%', databases: [] }], true)
  })
})
