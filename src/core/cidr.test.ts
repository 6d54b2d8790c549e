import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ipv4Network, normalizeCidrs, parseCidr } from './cidr.js'

describe('allowed_cidrs', () => {
  it('takes IPv4 and IPv6 CIDRs and bare addresses', () => {
    assert.deepEqual(normalizeCidrs(['10.0.0.0/24', '127.0.0.2', '::1', 'fd00::/8', '10.0.0.0/24']), ['10.0.0.0/24', '127.0.0.2/32', '::1/128', 'fd00::/8'])
  })
  it('refuses what is not a CIDR, naming it', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/24', '256.1.1.1', 'example.com', '1.2.3.4/x', '01.2.3.4', '1::2::3', '']) {
      assert.throws(() => parseCidr(bad), /is not a CIDR/, bad)
    }
  })
  it('gives the network and mask of an IPv4 CIDR', () => {
    assert.deepEqual(ipv4Network(parseCidr('127.0.0.77/24')), { network: 0x7f000000, mask: 0xffffff00 })
    assert.deepEqual(ipv4Network(parseCidr('0.0.0.0/0')), { network: 0, mask: 0 })
    assert.deepEqual(ipv4Network(parseCidr('127.0.0.2')), { network: 0x7f000002, mask: 0xffffffff })
  })
})
