/** An instance's volume grown to its spec's size, the engine stopped around it when the host must. */
import type { ComputeDriver } from '../compute/compute-driver.js'
import { CofferError } from '../core/errors.js'
import type { InstanceSpec } from '../guest/protocol.js'
import type { InstanceContexts } from './instance-contexts.js'
import { lifecycle } from './lifecycle.js'

export function growVolume(contexts: InstanceContexts, compute: ComputeDriver, spec: InstanceSpec, signal?: AbortSignal): Promise<void> {
  const volumeGb = spec.volumeGb
  if (!volumeGb) throw new CofferError('INTERNAL', `instance ${spec.instanceId}: no volume size to grow to`, { retryable: false })
  return lifecycle(
    spec,
    async () => {
      await contexts.require(spec, signal)
      const { engine } = contexts.datastore(spec)
      await compute.growVolume(spec.instanceId, volumeGb, async (work) => {
        await engine.stop(await contexts.require(spec, signal))
        await work()
        await engine.start(await contexts.limited(spec))
      })
      // A grow resumed after a crash may find the file system grown already and stop nothing: the
      // engine the crash took down is started here (a no-op when it runs), before the instance
      // shows ACTIVE again.
      await engine.start(await contexts.limited(spec))
    },
    signal,
  )
}
