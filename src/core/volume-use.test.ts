import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { volumeUse } from './volume-use.js'

const GB = 1024 ** 3

describe('volume use', () => {
  it('says nothing before a heartbeat measured it', () => {
    assert.deepEqual(volumeUse({ sizeGb: 1, usedBytes: null, freeBytes: null, type: null }), {})
  })

  it('warns from 90% of a folder against its size, and says full at 100%', () => {
    assert.equal(volumeUse({ sizeGb: 10, usedBytes: 8 * GB, freeBytes: null, type: 'folder' }).warning, undefined)
    assert.match(volumeUse({ sizeGb: 10, usedBytes: 9.35 * GB, freeBytes: null, type: 'folder' }).warning ?? '', /93% full/)
    assert.match(volumeUse({ sizeGb: 10, usedBytes: 10 * GB, freeBytes: null, type: 'folder' }).warning ?? '', /full/)
  })

  it('reads a file system of its own by what is free, not by its nominal size', () => {
    const v = volumeUse({ sizeGb: 1, usedBytes: 0.97 * GB - 2 ** 20, freeBytes: 2 ** 20, type: 'ext4-loop' })
    assert.match(v.warning ?? '', /volume is full/)
    assert.equal(v.type, 'ext4-loop')
    assert.equal(volumeUse({ sizeGb: 1, usedBytes: 0.1 * GB, freeBytes: 0.87 * GB, type: 'ext4-loop' }).warning, undefined)
  })
})
