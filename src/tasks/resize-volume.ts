import type { InstanceSteps } from './steps/instance-steps.js'
import type { VolumeSteps } from './steps/volume-steps.js'
import { workflow } from './workflow.js'

export interface ResizeVolumeInput {
  readonly instanceId: string
  /** The new size in GB, larger than the old (the API refuses anything else). */
  readonly size: number
}

/**
 * RESIZE → ACTIVE: grow the volume online (the engine keeps running), then record the new size.
 * A crash between the two grows again (nothing to do) and records; before the grow, the instance
 * keeps its old size. Either way it ends with one size, never between.
 */
export const resizeVolume = (steps: VolumeSteps, instance: InstanceSteps) =>
  workflow<ResizeVolumeInput>({
    kind: 'resize-volume',
    async run(t, input) {
      await t.step('grow-volume', (signal) => steps.growVolume(input.instanceId, input.size, signal))
      await t.step('mark-resized', () => steps.markResized(input.instanceId, input.size))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => instance.markFailed(input.instanceId, err, 'resize-volume', task.id),
  })
