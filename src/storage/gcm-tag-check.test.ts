import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { GcmTagChecker, gfMultiply } from './gcm-tag-check.js'

const big = (hex: string): bigint => BigInt(`0x${hex}`)
const sealWith = (key: Buffer, nonce: Buffer, aad: Buffer, plain: Buffer): { body: Buffer; tag: Buffer } => {
  const c = createCipheriv('aes-256-gcm', key, nonce)
  if (aad.length) c.setAAD(aad)
  const body = Buffer.concat([c.update(plain), c.final()])
  return { body, tag: c.getAuthTag() }
}

describe('GCM tag check without decrypting', () => {
  it('multiplies in GF(2^128) as GCM does', () => {
    // NIST's GCM test case 2 (AES-128, key and IV zero): H = 66e94bd4ef8a2c3b884cfa59ca342b2e,
    // C = 0388dace60b6a392f328c2b971b2fe78, and GHASH(H, {}, C) = f38cbb1ad69223dcc3457ae5b6b0f885,
    // which for one block of C is (C · H XOR L) · H with L = 0^64 | 128.
    const h = big('66e94bd4ef8a2c3b884cfa59ca342b2e')
    const c = big('0388dace60b6a392f328c2b971b2fe78')
    const ghash = gfMultiply(gfMultiply(c, h) ^ 128n, h)
    assert.equal(ghash.toString(16).padStart(32, '0'), 'f38cbb1ad69223dcc3457ae5b6b0f885')
    // The identity of GCM's field is 1 followed by 127 zero bits (bit order reflected).
    const one = 1n << 127n
    assert.equal(gfMultiply(one, h), h)
    assert.equal(gfMultiply(h, one), h)
    assert.equal(gfMultiply(0n, h), 0n)
  })

  it('accepts exactly the tags GCM computed, for any length and any split of the ciphertext', () => {
    for (const aadLength of [0, 1, 15, 16]) {
      const key = randomBytes(32)
      const aad = randomBytes(aadLength)
      const checker = new GcmTagChecker(key, aad)
      for (const size of [0, 1, 15, 16, 17, 1000, 65_536 + 5]) {
        const nonce = randomBytes(12)
        const { body, tag } = sealWith(key, nonce, aad, randomBytes(size))
        const cut = Math.floor(size / 3)
        assert.ok(checker.matches(nonce, [body], tag), `aad ${aadLength}, ${size} bytes`)
        assert.ok(checker.matches(nonce, [body.subarray(0, cut), body.subarray(cut)], tag), `aad ${aadLength}, ${size} bytes in two parts`)
        if (size > 0) {
          const bad = Buffer.from(body)
          bad[size - 1]! ^= 0x40
          assert.ok(!checker.matches(nonce, [bad], tag), `aad ${aadLength}, ${size} bytes, last byte altered`)
          assert.ok(!checker.matches(nonce, [body.subarray(0, size - 1)], tag), `aad ${aadLength}, ${size} bytes, one byte short`)
        }
        assert.ok(!checker.matches(nonce, [body, Buffer.alloc(1)], tag), `aad ${aadLength}, ${size} bytes, one zero byte added`)
        assert.ok(!checker.matches(randomBytes(12), [body], tag), `aad ${aadLength}, ${size} bytes, another nonce`)
        assert.ok(!new GcmTagChecker(randomBytes(32), aad).matches(nonce, [body], tag), `aad ${aadLength}, ${size} bytes, another key`)
        assert.ok(!checker.matches(nonce, [body], tag.subarray(0, 12)), 'a short tag')
      }
    }
  })

  it('refuses another AAD', () => {
    const key = randomBytes(32)
    const nonce = randomBytes(12)
    const aad = randomBytes(15)
    const { body, tag } = sealWith(key, nonce, aad, randomBytes(100))
    const other = Buffer.from(aad)
    other[0]! ^= 1
    assert.ok(!new GcmTagChecker(key, other).matches(nonce, [body], tag))
    assert.throws(() => new GcmTagChecker(key, randomBytes(17)), /one block/)
  })
})
