import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { instanceStatus, operatingStatus } from './instance.js'

const fault = { message: 'boom', created: '2026-01-01T00:00:00' }

describe('instance status', () => {
  it('follows Trove: fault, then task, then guest', () => {
    assert.equal(instanceStatus({ taskStatus: 'BUILDING', serviceStatus: 'NEW', fault: null }), 'BUILD')
    assert.equal(instanceStatus({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault: null }), 'ACTIVE')
    assert.equal(instanceStatus({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault }), 'ERROR')
    assert.equal(instanceStatus({ taskStatus: 'NONE', serviceStatus: 'SHUTDOWN', fault: null }), 'SHUTDOWN')
    assert.equal(instanceStatus({ taskStatus: 'DELETING', serviceStatus: 'HEALTHY', fault }), 'SHUTDOWN')
  })
  it('shows RESTART_REQUIRED while applied configuration waits for a restart', () => {
    assert.equal(instanceStatus({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault: null, pendingRestart: true }), 'RESTART_REQUIRED')
    assert.equal(instanceStatus({ taskStatus: 'REBOOTING', serviceStatus: 'HEALTHY', fault: null, pendingRestart: true }), 'REBOOT')
  })
  it('shows the operating status only when no task runs', () => {
    assert.equal(operatingStatus({ taskStatus: 'BUILDING', serviceStatus: 'HEALTHY', fault: null }), '')
    assert.equal(operatingStatus({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault: null }), 'HEALTHY')
    assert.equal(operatingStatus({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault }), '')
  })
})
