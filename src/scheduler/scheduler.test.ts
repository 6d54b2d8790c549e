import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type NodeView, pickNode, whyNoNode } from './scheduler.js'

const pg15 = { datastore: 'postgresql', version: '15' }
const redis7 = { datastore: 'redis', version: '7.0' }
const node = (name: string, o: Partial<NodeView> = {}): NodeView => ({ name, state: 'UP', ramMb: 4096, serves: [pg15], placedRamMb: 0, ...o })
const req = { ...pg15, ramMb: 1024 }

describe('scheduler', () => {
  it('picks the node with the most RAM left', () => {
    assert.equal(pickNode([node('a', { placedRamMb: 2048 }), node('b', { placedRamMb: 512 })], req)?.name, 'b')
  })

  it('counts the flavors already placed against the node RAM, with the allocation ratio', () => {
    assert.equal(pickNode([node('a', { placedRamMb: 3500 })], req, 1), undefined)
    assert.equal(pickNode([node('a', { placedRamMb: 3072 })], req, 1)?.name, 'a')
    assert.equal(pickNode([node('a', { placedRamMb: 5000 })], req, 1.5)?.name, 'a')
    assert.equal(pickNode([node('a', { placedRamMb: 5200 })], req, 1.5), undefined)
  })

  it('takes only nodes that serve the datastore version', () => {
    const nodes = [node('a', { serves: [redis7] }), node('b', { serves: [{ datastore: 'postgresql', version: '16' }] }), node('c', { ramMb: 2048 })]
    assert.equal(pickNode(nodes, req)?.name, 'c')
    assert.equal(pickNode(nodes, { ...redis7, ramMb: 512 })?.name, 'a')
    assert.equal(pickNode(nodes.slice(0, 2), req), undefined)
    assert.match(whyNoNode(nodes.slice(0, 2), req), /no node that is up serves postgresql 15/)
  })

  it('skips nodes that are DOWN or DRAINING', () => {
    const nodes = [node('a', { state: 'DOWN', ramMb: 65536 }), node('b', { state: 'DRAINING', ramMb: 65536 }), node('c')]
    assert.equal(pickNode(nodes, req)?.name, 'c')
    assert.equal(pickNode(nodes.slice(0, 2), req), undefined)
    assert.equal(whyNoNode(nodes.slice(0, 2), req), 'no node is up')
  })

  it('stays off the nodes to avoid when another fits, and uses them when none does', () => {
    const nodes = [node('a', { ramMb: 65536 }), node('b')]
    assert.equal(pickNode(nodes, { ...req, avoid: ['a'] })?.name, 'b')
    assert.equal(pickNode([node('a')], { ...req, avoid: ['a'] })?.name, 'a')
  })

  it('puts a public instance only on a node that gives public addresses', () => {
    const nodes = [node('a', { ramMb: 65536 }), node('b', { publicAddresses: true })]
    assert.equal(pickNode(nodes, { ...req, public: true })?.name, 'b')
    assert.equal(pickNode(nodes.slice(0, 1), { ...req, public: true }), undefined)
    assert.match(whyNoNode(nodes.slice(0, 1), { ...req, public: true }), /gives public addresses/)
  })
})
