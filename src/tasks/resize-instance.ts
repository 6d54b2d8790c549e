import type { ActionSteps } from './steps/action-steps.js'
import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface ResizeInstanceInput {
  readonly instanceId: string
  readonly flavorId: string
  /** The flavor before the resize: what a failed resize goes back to. */
  readonly oldFlavorId: string
}

/**
 * RESIZE → ACTIVE with a new flavor: record it, then one restart renders the engine's tuning and
 * limits from it. A crash anywhere resumes here (every step is idempotent); a failure puts the old
 * flavor back and starts the engine with it, so the instance never ends half resized.
 */
export const resizeInstance = (steps: ActionSteps, instance: InstanceSteps) =>
  workflow<ResizeInstanceInput>({
    kind: 'resize-instance',
    async run(t, input) {
      await t.step('record-flavor', () => steps.recordFlavor(input.instanceId, input.flavorId))
      await t.step('restart', (signal) => steps.restartEngine(input.instanceId, signal))
      await t.step('wait-healthy', (signal) => instance.waitHealthy(input.instanceId, signal))
      await t.step('mark-resized', () => steps.markResized(input.instanceId))
    },
    shouldStop: (input) => instance.isDeleting(input.instanceId),
    onFailure: (input, err, task) => steps.revertResize(input.instanceId, input.oldFlavorId, err, task.id),
  })
