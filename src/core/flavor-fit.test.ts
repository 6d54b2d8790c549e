import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkFlavorFits, memoryBytes } from './flavor-fit.js'

const pg = { name: 'postgresql', minRamMb: 128, memoryParameters: { shared_buffers: 8192, wal_buffers: 8192 } }

describe('a flavor fits an instance', () => {
  it('reads memory values bare (in the parameter\'s unit) or with a unit', () => {
    assert.equal(memoryBytes(16384, 8192), 128 * 1024 ** 2)
    assert.equal(memoryBytes('128MB', 8192), 128 * 1024 ** 2)
    assert.equal(memoryBytes('1G', 1), 1024 ** 3)
    assert.equal(memoryBytes('lots', 1), undefined)
  })
  it('refuses a flavor below the engine\'s floor or the group\'s buffers, naming them', () => {
    assert.throws(() => checkFlavorFits(pg, { id: 'x', ram_mb: 64 }, {}), /postgresql needs at least 128 MB/)
    assert.throws(() => checkFlavorFits(pg, { id: '1', ram_mb: 512 }, { shared_buffers: 65536 }), /too little for the attached configuration group \(shared_buffers 512 MB\)/)
    checkFlavorFits(pg, { id: '2', ram_mb: 2048 }, { shared_buffers: 65536, work_mem: 999999 })
    checkFlavorFits({ name: 'redis' }, { id: 'x', ram_mb: 1 }, {})
  })
})
