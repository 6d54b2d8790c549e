import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_FULL_LOOK_MS, fullLookDue, restartDue } from './supervisor.js'

describe('supervisor back-off', () => {
  it('restarts after two looks, then waits twice as long after each restart that did not hold, up to 64 looks', () => {
    assert.equal(restartDue(1, 0), false)
    assert.equal(restartDue(2, 0), true)
    assert.equal(restartDue(3, 1), false)
    assert.equal(restartDue(4, 1), true)
    assert.equal(restartDue(15, 3), false)
    assert.equal(restartDue(16, 3), true)
    assert.equal(restartDue(63, 10), false)
    assert.equal(restartDue(64, 10), true)
  })
})

describe('full looks at healthy engines', () => {
  it('are due once the interval has passed since the last one, not before', () => {
    assert.equal(fullLookDue(1_000, 1_000 + DEFAULT_FULL_LOOK_MS - 1, DEFAULT_FULL_LOOK_MS), false)
    assert.equal(fullLookDue(1_000, 1_000 + DEFAULT_FULL_LOOK_MS, DEFAULT_FULL_LOOK_MS), true)
    assert.equal(fullLookDue(1_000, 1_000, 0), true, 'an interval of 0 looks fully every time')
  })
})
