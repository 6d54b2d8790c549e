import type { ActionSteps } from './steps/action-steps.js'
import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface StopInstanceInput {
  readonly instanceId: string
}

/**
 * SHUTDOWN: the engine stops and stays stopped (the instance is marked stopped when the action is
 * taken, so the node is told not to start it again); its volume and address stay.
 */
export const stopInstance = (steps: ActionSteps, instance: InstanceSteps) =>
  workflow<StopInstanceInput>({
    kind: 'stop-instance',
    async run(t, input) {
      await t.step('stop', () => steps.stopEngine(input.instanceId))
      await t.step('mark-stopped', () => steps.markStopped(input.instanceId))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => instance.markFailed(input.instanceId, err, 'stop-instance', task.id),
  })
