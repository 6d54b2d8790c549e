import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { restartDue } from './node-agent.js'

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
