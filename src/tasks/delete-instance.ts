import type { InstanceSteps } from './steps/instance-steps.js'
import type { WriterSteps } from './steps/writer-steps.js'
import { workflow } from './workflow.js'

export interface DeleteInstanceInput {
  readonly instanceId: string
}

/** Works from any state: stops the engine, frees the volume, port and writer address, then forgets the instance. */
export const deleteInstance = (steps: InstanceSteps, writers?: Pick<WriterSteps, 'remove'>) =>
  workflow<DeleteInstanceInput>({
    kind: 'delete-instance',
    async run(t, input) {
      // A set's source takes its writer address with it (its replicas are gone or detached by now).
      if (writers) await t.step('remove-writer', () => writers.remove(input.instanceId))
      await t.step('destroy', () => steps.destroy(input.instanceId))
      await t.step('forget', () => steps.forget(input.instanceId))
    },
    // The instance stays, in ERROR with the reason, and can be deleted again.
    onFailure: (input, err, task) => steps.markFailed(input.instanceId, err, 'delete-instance', task.id),
  })
