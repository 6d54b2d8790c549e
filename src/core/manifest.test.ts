import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CAPABILITIES, capabilitiesOf } from './manifest.js'

const on = (caps: Record<string, boolean>): string[] => Object.entries(caps).filter(([, v]) => v).map(([k]) => k)

describe('capabilitiesOf', () => {
  it('offers provisioning alone for an engine with no optional parts', () => {
    assert.deepEqual(on(capabilitiesOf({})), ['provisioning'])
  })

  it('names every capability, each present part switching on its own', () => {
    const all = capabilitiesOf({ databases: {}, users: {}, root: {}, configuration: {}, backup: { supportsIncremental: true, supportsPointInTime: true }, replication: {}, clustering: {} })
    assert.deepEqual(Object.keys(all), [...CAPABILITIES])
    assert.deepEqual(on(all), [...CAPABILITIES])
    assert.deepEqual(on(capabilitiesOf({ users: {}, root: {} })), ['provisioning', 'users', 'root'])
  })

  it('offers incremental backups only when the backup part says it supports them', () => {
    assert.equal(capabilitiesOf({ backup: {} }).incremental_backup, false)
    assert.equal(capabilitiesOf({ backup: {} }).backup, true)
    assert.equal(capabilitiesOf({ backup: { supportsIncremental: true } }).incremental_backup, true)
    assert.equal(capabilitiesOf({ backup: {} }).point_in_time_restore, false)
    assert.equal(capabilitiesOf({ backup: { supportsPointInTime: true } }).point_in_time_restore, true)
  })
})
