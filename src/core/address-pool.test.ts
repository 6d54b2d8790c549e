import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inPool, parseAddressPool, poolAddresses } from './address-pool.js'

describe('address pools', () => {
  it('parses a loopback pool and one on an interface', () => {
    assert.deepEqual(parseAddressPool('127.100.0.0/16'), { cidr: '127.100.0.0/16', prefix: 16 })
    assert.deepEqual(parseAddressPool('10.77.3.9/24@veth-c1'), { cidr: '10.77.3.0/24', prefix: 24, interface: 'veth-c1' })
  })
  it('refuses what is not a pool', () => {
    for (const bad of ['127.100.0.0', '300.1.1.1/16', '127.0.0.0/33', '10.0.0.0/24', '10.0.0.0/24@bad name']) assert.throws(() => parseAddressPool(bad), /COFFER_INSTANCE_NETWORK/)
  })
  it('hands out host addresses only, lowest first', () => {
    const all = [...poolAddresses(parseAddressPool('10.1.2.0/30@eth0'))]
    assert.deepEqual(all, ['10.1.2.1', '10.1.2.2'])
    const first = poolAddresses(parseAddressPool('127.100.0.0/16')).next().value
    assert.equal(first, '127.100.0.1')
    assert.equal(inPool(parseAddressPool('127.100.0.0/16'), '127.100.255.3'), true)
    assert.equal(inPool(parseAddressPool('127.100.0.0/16'), '127.101.0.3'), false)
  })
})
