import type { GuestDatabase, GuestUser } from '../guest/protocol.js'
import type { ConfigurationSteps } from './steps/configuration-steps.js'
import type { InstanceSteps } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

export interface CreateInstanceInput {
  readonly instanceId: string
  readonly databases: GuestDatabase[]
  readonly users: GuestUser[]
}

/** BUILD → ACTIVE: place, make the envelope, let the guest prepare the engine, wait until it answers. */
export const createInstance = (steps: InstanceSteps, configuration: ConfigurationSteps) =>
  workflow<CreateInstanceInput>({
    kind: 'create-instance',
    async run(t, input) {
      const id = input.instanceId
      await t.step('place', () => steps.place(id))
      await t.step('create-envelope', () => steps.createEnvelope(id))
      await t.step('guest-prepare', () => steps.prepare(id, { databases: input.databases, users: input.users }))
      const restartRequired = await t.step('configure', () => configuration.apply(id, { onlyIfAny: true }))
      // A new instance has no clients yet: restart now rather than leave it RESTART_REQUIRED.
      if (restartRequired.length > 0) await t.step('restart-for-configuration', () => configuration.restart(id))
      await t.step('wait-healthy', () => steps.waitHealthy(id, t.cancelled))
      await t.step('mark-active', () => steps.markActive(id))
    },
    shouldStop: (input) => steps.isDeleting(input.instanceId),
    onFailure: async (input, err) => {
      // An instance on its way out needs no fault; its delete task cleans up what this one left.
      if (!(await steps.isDeleting(input.instanceId))) await steps.markFailed(input.instanceId, err)
    },
    // Initial users' passwords are needed only until the guest has made the users.
    scrub: (input) => ({ ...input, users: input.users.map((u) => ({ ...u, password: '' })) }),
  })
