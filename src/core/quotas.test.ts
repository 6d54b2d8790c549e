import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkQuota, parseQuotaUpdate } from './quotas.js'

describe('quotas', () => {
  const limits = { instances: 2, volumes: 10, backups: 3 }
  it('lets a request up to the limit through and names every resource over it', () => {
    checkQuota(limits, { instances: 1, volumes: 5, backups: 2 }, { instances: 1, volumes: 5, backups: 1 })
    assert.throws(() => checkQuota(limits, { instances: 2, volumes: 0, backups: 0 }, { instances: 1, volumes: 1 }), /Quota exceeded for resources: \['instances'\] \(instances: 2 in use \+ 1 asked > limit 2\)/)
    assert.throws(() => checkQuota(limits, { instances: 2, volumes: 9, backups: 3 }, { instances: 1, volumes: 2, backups: 1 }), /\['instances', 'volumes', 'backups'\]/)
  })
  it('takes -1 as no limit', () => checkQuota({ instances: -1, volumes: -1, backups: -1 }, { instances: 500, volumes: 9000, backups: 70 }, { instances: 1, volumes: 10, backups: 1 }))
  it('parses updates as Trove does: null skipped, unknown resources and bad numbers refused', () => {
    assert.deepEqual(parseQuotaUpdate({ instances: 3, volumes: null }), { instances: 3 })
    assert.deepEqual(parseQuotaUpdate({ backups: 3 }), { backups: 3 })
    assert.throws(() => parseQuotaUpdate({ ram: 3 }), /'ram' is unknown; Coffer has quotas for instances, volumes, backups/)
    assert.throws(() => parseQuotaUpdate({ instances: -2 }), /whole number/)
    assert.throws(() => parseQuotaUpdate({ instances: '3' }), /whole number/)
    assert.throws(() => parseQuotaUpdate({}), /at least one/)
  })
})
