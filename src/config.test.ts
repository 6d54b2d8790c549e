import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveSettings } from './config.js'

describe('settings', () => {
  it('gives instances addresses of 127.100.0.0/16 on a loopback bind, and none on another unless told', () => {
    assert.equal(resolveSettings({ home: '/tmp/x' }, {}).instanceNetwork?.cidr, '127.100.0.0/16')
    assert.equal(resolveSettings({ home: '/tmp/x', bind: '10.1.2.3' }, {}).instanceNetwork, undefined)
    assert.equal(resolveSettings({ home: '/tmp/x' }, { COFFER_INSTANCE_NETWORK: 'off' }).instanceNetwork, undefined)
  })

  it('fails over after 2 s, within 1 MiB, unless told otherwise', () => {
    const s = resolveSettings({ home: '/tmp/x' }, {})
    assert.equal(s.failoverMs, 2000)
    assert.equal(s.failoverMaxLagBytes, 1048576)
    assert.equal(resolveSettings({ home: '/tmp/x' }, { COFFER_FAILOVER_SECONDS: '0.5', COFFER_FAILOVER_MAX_LAG_BYTES: '0' }).failoverMs, 500)
  })

  it('refuses failover settings that are not numbers of at least 0, naming them', () => {
    for (const [name, value] of [['COFFER_FAILOVER_SECONDS', 'soon'], ['COFFER_FAILOVER_SECONDS', '-1'], ['COFFER_FAILOVER_MAX_LAG_BYTES', '1MB'], ['COFFER_FAILOVER_MAX_LAG_BYTES', '']] as const) {
      assert.throws(() => resolveSettings({ home: '/tmp/x' }, { [name]: value }), new RegExp(`${name} must be a number of at least 0`))
    }
  })
})
