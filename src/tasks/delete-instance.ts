import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface DeleteInstanceInput {
  readonly instanceId: string
}

/** Works from any state: stops the engine, frees the volume and port, then forgets the instance. */
export const deleteInstance = (steps: InstanceSteps) =>
  workflow<DeleteInstanceInput>({
    kind: 'delete-instance',
    async run(t, input) {
      await t.step('destroy', () => steps.destroy(input.instanceId))
      await t.step('forget', () => steps.forget(input.instanceId))
    },
    // The instance stays, in ERROR with the reason, and can be deleted again.
    onFailure: (input, err, task) => steps.markFailed(input.instanceId, err, 'delete-instance', task.id),
  })
