import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sealerWith, type Sealed } from './sealed.js'

describe('sealed values', () => {
  const box = sealerWith(randomBytes(32))

  it('opens what it sealed, and never shows the plaintext in the sealed form', () => {
    const s = box.seal('Sup3r-secret')
    assert.match(s, /^sealed:v1:[A-Za-z0-9_-]+$/)
    assert.ok(!s.includes('Sup3r'))
    assert.equal(box.open(s), 'Sup3r-secret')
  })

  it('seals the same value differently each time', () => {
    assert.notEqual(box.seal('x'), box.seal('x'))
  })

  it('refuses a value sealed under another key, or altered', () => {
    const s = box.seal('secret')
    assert.throws(() => sealerWith(randomBytes(32)).open(s))
    const raw = Buffer.from(s.slice('sealed:v1:'.length), 'base64url')
    raw[raw.length - 1] = (raw.at(-1) ?? 0) ^ 1
    assert.throws(() => box.open(`sealed:v1:${raw.toString('base64url')}` as Sealed))
    assert.throws(() => box.open('plain' as Sealed), /not a sealed value/)
  })

  it('refuses a key that is not 32 bytes', () => {
    assert.throws(() => sealerWith(randomBytes(16)), /32 bytes/)
  })
})
