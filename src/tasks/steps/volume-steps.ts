/** The side-effect steps of growing an instance's volume. Each is idempotent. */
import type { Bus } from '../../bus/bus.js'
import { transition } from '../../store/repos/transition.js'
import type { Db } from '../../store/schema.js'
import { instanceSpec, requireInstance } from './instance-spec.js'

export function volumeSteps(d: { readonly db: Db; readonly bus: Bus }) {
  const { db, bus } = d
  return {
    /**
     * Has the node grow the volume online to `sizeGb`. The row keeps the old size until
     * `markResized`: a task killed after the grow runs it again (a no-op for a grown volume).
     */
    async growVolume(id: string, sizeGb: number, signal?: AbortSignal): Promise<void> {
      const row = await requireInstance(db, id)
      const spec = await instanceSpec(db, row)
      await bus.node(row.node ?? '').growVolume({ ...spec, volumeGb: sizeGb }, { signal })
    },

    /** The new size shows once the volume has it; RESIZING ends and a mendable fault goes. */
    async markResized(id: string, sizeGb: number): Promise<void> {
      await transition(db, id, 'RESIZING', 'NONE', { also: { volume_size: sizeGb }, clearFault: 'mended' })
    },
  }
}

export type VolumeSteps = ReturnType<typeof volumeSteps>
