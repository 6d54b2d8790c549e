import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LoginThrottle, isLoopback } from './login-throttle.js'

const REMOTE = '203.0.113.7'
const LOCAL = '127.0.0.1'
const limits = { failures: 3, windowMs: 300_000, lockoutMs: 60_000 }

function throttle() {
  let t = 1_000_000
  const th = new LoginThrottle(limits, () => t)
  return { th, advance: (ms: number) => (t += ms) }
}
const fail = (th: LoginThrottle, user: string, address: string, n: number) => {
  for (let i = 0; i < n; i++) th.failed(user, address)
}

describe('login throttle', () => {
  it('locks a user name after the allowed failures, even for the right password, then lets it try again', () => {
    const { th, advance } = throttle()
    fail(th, 'ann', REMOTE, 2)
    assert.deepEqual(th.admit('ann', REMOTE), { go: true, delayMs: 0 })
    th.failed('ann', REMOTE)
    assert.deepEqual(th.admit('ann', REMOTE), { go: false, retryAfterMs: 60_000 })
    assert.deepEqual(th.admit('ann', '198.51.100.1'), { go: false, retryAfterMs: 60_000 }, 'from any address')
    assert.deepEqual(th.admit('bob', REMOTE), { go: true, delayMs: 0 }, 'other names are not locked')
    advance(60_000)
    assert.deepEqual(th.admit('ann', REMOTE), { go: true, delayMs: 0 })
  })

  it('doubles the lockout each time in a row, and forgets after a quiet window', () => {
    const { th, advance } = throttle()
    fail(th, 'ann', REMOTE, 3)
    advance(60_000)
    fail(th, 'ann', REMOTE, 3)
    assert.deepEqual(th.admit('ann', REMOTE), { go: false, retryAfterMs: 120_000 })
    advance(120_000)
    fail(th, 'ann', REMOTE, 3)
    assert.deepEqual(th.admit('ann', REMOTE), { go: false, retryAfterMs: 240_000 })
    advance(240_000 + limits.windowMs + 1)
    fail(th, 'ann', REMOTE, 3)
    assert.deepEqual(th.admit('ann', REMOTE), { go: false, retryAfterMs: 60_000 })
  })

  it('counts only failures inside the window', () => {
    const { th, advance } = throttle()
    fail(th, 'ann', REMOTE, 2)
    advance(limits.windowMs + 1)
    th.failed('ann', REMOTE)
    assert.equal(th.admit('ann', REMOTE).go, true)
  })

  it('forgets a name\'s failures after a success', () => {
    const { th } = throttle()
    fail(th, 'ann', REMOTE, 2)
    th.succeeded('ann')
    th.failed('ann', REMOTE)
    assert.equal(th.admit('ann', REMOTE).go, true)
  })

  it('treats made-up names like real ones', () => {
    const { th } = throttle()
    fail(th, 'no-such-user', REMOTE, 3)
    assert.deepEqual(th.admit('no-such-user', REMOTE), { go: false, retryAfterMs: 60_000 })
  })

  it('locks a remote address spraying many names, after four times the failures', () => {
    const { th } = throttle()
    for (let i = 0; i < 11; i++) th.failed(`name${i}`, REMOTE)
    assert.equal(th.admit('fresh', REMOTE).go, true)
    th.failed('name11', REMOTE)
    assert.deepEqual(th.admit('fresh', REMOTE), { go: false, retryAfterMs: 60_000 })
    assert.equal(th.admit('fresh', '198.51.100.1').go, true, 'other addresses go on')
  })

  it('never locks the admin out of its own node: from loopback it passes its name\'s lockout', () => {
    const { th } = throttle()
    fail(th, 'admin', REMOTE, 3)
    assert.equal(th.admit('admin', REMOTE).go, false, 'locked for the network')
    assert.equal(th.admit('admin', LOCAL).go, true, 'not on the node')
    assert.equal(th.admit('admin', '::1').go, true)
    fail(th, 'ann', LOCAL, 3)
    assert.equal(th.admit('ann', LOCAL).go, false, 'other names are locked from loopback too')
  })

  it('slows loopback past the allowed failures, one attempt at a time, and never locks it', () => {
    const { th, advance } = throttle()
    for (let i = 0; i < 30; i++) th.failed(`name${i}`, LOCAL)
    const first = th.admit('admin', LOCAL)
    assert.deepEqual(first, { go: true, delayMs: 4000 }, 'capped step')
    assert.deepEqual(th.admit('admin', LOCAL), { go: true, delayMs: 8000 }, 'queued behind the first')
    for (let i = 0; i < 5; i++) th.admit('admin', LOCAL)
    const full = th.admit('admin', LOCAL)
    assert.equal(full.go, false, 'a queue longer than 30 s is refused')
    advance(limits.windowMs + 60_000)
    assert.deepEqual(th.admit('admin', LOCAL), { go: true, delayMs: 0 }, 'old failures age out')
  })

  it('slows loopback gently at first', () => {
    const { th } = throttle()
    fail(th, 'x', LOCAL, 3)
    assert.deepEqual(th.admit('admin', LOCAL), { go: true, delayMs: 250 })
  })

  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a)
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '1.127.0.0']) assert.ok(!isLoopback(a), a)
  })
})
