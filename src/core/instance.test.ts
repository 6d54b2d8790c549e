import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canTransition, instanceStatus, isSupervised, mayConfigure, mayRestart, mayStart, mayStop, operatingStatus, TASK_STATUSES, TASK_TRANSITIONS, type Operation, type StatusInputs } from './instance.js'

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

describe('task status transitions', () => {
  it('lets every task end, and a delete follow anything but itself', () => {
    for (const from of TASK_STATUSES) {
      assert.equal(canTransition(from, 'NONE'), true, `${from} → NONE`)
      assert.equal(canTransition(from, 'DELETING'), from !== 'DELETING', `${from} → DELETING`)
    }
  })
  it('starts a task only from NONE: no restart during a build, nothing but its end after a delete began', () => {
    assert.equal(canTransition('NONE', 'REBOOTING'), true)
    assert.equal(canTransition('NONE', 'BUILDING'), true, 'a create claims a spare')
    assert.equal(canTransition('BUILDING', 'REBOOTING'), false)
    assert.equal(canTransition('REBOOTING', 'BUILDING'), false)
    assert.equal(canTransition('REBOOTING', 'REBOOTING'), false)
    assert.deepEqual(TASK_TRANSITIONS.DELETING, ['NONE'])
  })
})

describe('what may start on an instance', () => {
  const s = (over: Partial<StatusInputs>): StatusInputs => ({ taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault: null, ...over })
  const failed = (operation: Operation | null) => ({ ...fault, operation })
  it('lets a restart, detach or attach mend a failed apply or restart, but not a failed build or delete', () => {
    assert.equal(mayConfigure(s({})), true)
    assert.equal(mayConfigure(s({ fault: failed('apply-configuration') })), true)
    assert.equal(mayConfigure(s({ fault: failed('restart-instance') })), true)
    assert.equal(mayConfigure(s({ fault: failed('create-instance') })), false)
    assert.equal(mayConfigure(s({ fault: failed('delete-instance') })), false)
    assert.equal(mayConfigure(s({ fault: failed(null) })), false, 'a fault from before faults named their operation')
    assert.equal(mayConfigure(s({ fault: failed('apply-configuration'), taskStatus: 'REBOOTING' })), false)
    assert.equal(mayConfigure(s({ fault: failed('apply-configuration'), serviceStatus: 'SHUTDOWN' })), false)
    assert.equal(mayConfigure(s({ serviceStatus: 'BUILD' })), false)
  })
  it('lets a restart try to mend an engine that stopped answering', () => {
    assert.equal(mayRestart(s({ fault: failed('restart-instance'), serviceStatus: 'ERROR' })), true)
    assert.equal(mayRestart(s({ serviceStatus: 'SHUTDOWN' })), true)
    assert.equal(mayRestart(s({ fault: failed('create-instance'), serviceStatus: 'ERROR' })), false)
    assert.equal(mayRestart(s({ taskStatus: 'BUILDING', serviceStatus: 'NEW' })), false)
    assert.equal(mayRestart(s({ taskStatus: 'REBOOTING' })), false)
  })
  it('keeps watching an engine whose fault is a mendable one', () => {
    assert.equal(isSupervised(s({ fault: failed('apply-configuration') })), true)
    assert.equal(isSupervised(s({ fault: failed('create-instance'), serviceStatus: 'ERROR' })), false)
    assert.equal(isSupervised(s({ taskStatus: 'DELETING' })), false)
  })
})

describe('resize, stop and start', () => {
  const up: StatusInputs = { taskStatus: 'NONE', serviceStatus: 'HEALTHY', fault: null }
  it('shows RESIZE while resizing, SHUTDOWN while stopping and stopped, REBOOT while starting', () => {
    assert.equal(instanceStatus({ ...up, taskStatus: 'RESIZING' }), 'RESIZE')
    assert.equal(instanceStatus({ ...up, taskStatus: 'STOPPING', stopped: true }), 'SHUTDOWN')
    assert.equal(instanceStatus({ ...up, stopped: true }), 'SHUTDOWN', 'a late heartbeat does not make it ACTIVE')
    assert.equal(instanceStatus({ ...up, taskStatus: 'STARTING' }), 'REBOOT')
  })
  it('leaves a stopped engine unsupervised, and lets only a start follow a stop', () => {
    assert.equal(isSupervised({ ...up, serviceStatus: 'SHUTDOWN', stopped: true }), false)
    assert.equal(mayStop(up), true)
    assert.equal(mayStop({ ...up, stopped: true }), false)
    assert.equal(mayRestart({ ...up, serviceStatus: 'SHUTDOWN', stopped: true }), false)
    assert.equal(mayStart({ ...up, serviceStatus: 'SHUTDOWN', stopped: true }), true)
    assert.equal(mayStart(up), false)
    for (const t of ['RESIZING', 'STOPPING', 'STARTING'] as const) {
      assert.equal(canTransition('NONE', t), true)
      assert.equal(canTransition(t, 'NONE'), true)
      assert.equal(canTransition(t, 'DELETING'), true)
      assert.equal(canTransition(t, 'REBOOTING'), false)
    }
  })
})
