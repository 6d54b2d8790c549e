import type { InstanceSteps } from './steps/instance-steps.js'
import type { ConfigurationSteps } from './steps/configuration-steps.js'
import { workflow } from './workflow.js'

export interface ApplyConfigurationInput {
  readonly instanceId: string
}

/**
 * After a group was attached, detached or changed: apply what the instance should now run with.
 * Values the engine takes live take effect at once; the rest leave the instance RESTART_REQUIRED.
 */
export const applyConfiguration = (steps: ConfigurationSteps, instance: InstanceSteps) =>
  workflow<ApplyConfigurationInput>({
    kind: 'apply-configuration',
    async run(t, input) {
      const restartRequired = await t.step('apply', (signal) => steps.apply(input.instanceId, { signal }))
      await t.step('record', () => steps.record(input.instanceId, restartRequired))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => steps.markApplyFailed(input.instanceId, err, task.id),
  })
