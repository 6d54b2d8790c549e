import type { ActionSteps } from './steps/action-steps.js'
import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface StartInstanceInput {
  readonly instanceId: string
}

/** A stopped instance → ACTIVE: the engine starts (with what its flavor and group say today). */
export const startInstance = (steps: ActionSteps, instance: InstanceSteps) =>
  workflow<StartInstanceInput>({
    kind: 'start-instance',
    async run(t, input) {
      await t.step('start', (signal) => steps.restartEngine(input.instanceId, signal))
      await t.step('wait-healthy', (signal) => instance.waitHealthy(input.instanceId, signal))
      await t.step('mark-started', () => steps.markStarted(input.instanceId))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => instance.markFailed(input.instanceId, err, 'start-instance', task.id),
  })
