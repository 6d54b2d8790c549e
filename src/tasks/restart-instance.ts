import type { ConfigurationSteps } from './steps/configuration-steps.js'
import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface RestartInstanceInput {
  readonly instanceId: string
}

/** REBOOT → ACTIVE: stop and start the engine (taking any configuration that waited for it). */
export const restartInstance = (steps: ConfigurationSteps, instance: InstanceSteps) =>
  workflow<RestartInstanceInput>({
    kind: 'restart-instance',
    async run(t, input) {
      await t.step('restart', (signal) => steps.restart(input.instanceId, signal))
      await t.step('wait-healthy', (signal) => instance.waitHealthy(input.instanceId, signal))
      await t.step('mark-restarted', () => steps.markRestarted(input.instanceId))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => instance.markFailed(input.instanceId, err, 'restart-instance', task.id),
  })
