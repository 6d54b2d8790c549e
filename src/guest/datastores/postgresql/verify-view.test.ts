import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isWalBetween } from './verify-view.js'

describe('isWalBetween', () => {
  const start = '000000010000000200000031'
  const stop = '000000010000000300000002'
  it('takes the segments from start to stop, both included, across a log file boundary', () => {
    for (const s of [start, '0000000100000002000000FF', '000000010000000300000000', stop]) assert.equal(isWalBetween(s, start, stop), true, s)
  })
  it('leaves out segments before or after, of another timeline, and names that are not segments', () => {
    for (const s of ['000000010000000200000030', '000000010000000300000003', '000000020000000200000040', '00000001.history', '0000000100000002000000zz']) {
      assert.equal(isWalBetween(s, start, stop), false, s)
    }
  })
})
