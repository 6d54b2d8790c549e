import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ownerRoleOf } from './access.js'

test('owner role names: readable, never longer than 63 bytes, distinct for long names', () => {
  assert.equal(ownerRoleOf('shop'), 'shop:owner')
  const a = ownerRoleOf(`${'a'.repeat(60)}-1`)
  const b = ownerRoleOf(`${'a'.repeat(60)}-2`)
  assert.ok(Buffer.byteLength(a) <= 63 && Buffer.byteLength(b) <= 63)
  assert.notEqual(a, b)
  assert.match(a, /^a+:owner:[0-9a-f]{8}$/)
})
