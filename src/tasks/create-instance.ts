import { CofferError } from '../core/errors.js'
import type { Sealed } from '../store/sealed.js'
import type { GuestDatabase, GuestUser } from '../guest/protocol.js'
import type { ConfigurationSteps } from './steps/configuration-steps.js'
import { type InstanceSteps, placeKey } from './steps/instance-steps.js'
import { workflow } from './workflow.js'

/** How often a create moves an instance whose place another process took before its engine listened. */
const PLACE_MOVES = 3

export interface CreateInstanceInput {
  readonly instanceId: string
  readonly databases: GuestDatabase[]
  /** Passwords are sealed: the task's input sits in the state store until the users exist. */
  readonly users: SealedUser[]
  /** Set when the create claimed a spare: its engine runs already, tuned for the spare's flavor. */
  readonly fromSpare?: { readonly sameFlavor: boolean; readonly growVolume?: boolean }
  /** Set when the instance is made from a backup (its chain) or an archive to a point in time. */
  readonly restore?: RestoreInput
  /** Set when the instance is a replica: seeded from this source, which it then follows. */
  readonly replicaOf?: string
}

/** What a restore lays into the new instance: a backup's chain, and the archive replayed to a time. */
export interface RestoreInput {
  /** The backup restored (with its chain); absent for `archiveOf`, whose newest backup before the time is used. */
  readonly backupId?: string
  /** The instance (possibly deleted) whose archive a point-in-time restore replays. */
  readonly archiveOf?: string
  /** ISO-8601. */
  readonly restoreTime?: string
}

/** Restores a backup into the instance's fresh envelope and starts its engine (backup-steps.ts). */
export type RestoreStep = (instanceId: string, restore: RestoreInput, signal: AbortSignal) => Promise<void>

/** Seeds a replica's fresh envelope from its source and starts its engine (replica-steps.ts). */
export type SeedStep = (instanceId: string, sourceId: string, signal: AbortSignal) => Promise<void>

/** Gives a source whose set just formed its writer address and serves it (writer-steps.ts); idempotent. */
export type FormSetStep = (sourceId: string) => Promise<void>

export type SealedUser = Omit<GuestUser, 'password'> & { readonly password: Sealed | '' }

/**
 * BUILD → ACTIVE: place, make the envelope, let the guest prepare the engine, wait until it
 * answers. A claimed spare skips what was done when it was made, and restarts only to take on a
 * flavor or group it did not have. A place (address and port) found taken when the engine starts is
 * left for another.
 */
export const createInstance = (steps: InstanceSteps, configuration: ConfigurationSteps, restoreInto: RestoreStep, seedReplica: SeedStep, formSet?: FormSetStep) =>
  workflow<CreateInstanceInput>({
    kind: 'create-instance',
    async run(t, input) {
      const id = input.instanceId
      /**
       * Runs a step that starts the engine. When another process took the instance's place before
       * the engine could listen, the instance moves to a free one (another address of its node's
       * pool, or another port; recorded on its row, so a crash resumes there) and the step runs
       * again: every start renders the address and port into the engine's configuration. The move
       * is named by the place it leaves, so a resumed task never skips one.
       */
      const onAFreePlace = async <T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
        const left: string[] = []
        for (;;) {
          try {
            return await t.step(name, fn)
          } catch (err) {
            if (!isPortInUse(err)) throw err
            const at = await steps.placeOf(id)
            if (at === null) throw err
            const from = placeKey(at)
            left.push(from)
            if (left.length > PLACE_MOVES) throw outOfPlaces(err, left)
            await t.step(`move-port:${from}`, () => steps.movePlace(id, from))
          }
        }
      }
      // A spare was placed and given its envelope when it was made.
      if (!input.fromSpare) {
        await t.step('place', () => steps.place(id))
        await t.step('create-envelope', () => steps.createEnvelope(id))
      }
      // A spare's volume has the spares' size; a larger one asked for is grown online.
      if (input.fromSpare?.growVolume) await t.step('grow-volume', (signal) => steps.growVolume(id, signal))
      const { restore } = input
      // A restore brings the databases and users of the backup; nothing is prepared beside them.
      const { replicaOf } = input
      if (restore) await onAFreePlace('guest-restore', (signal) => restoreInto(id, restore, signal))
      else if (replicaOf) await onAFreePlace('guest-seed', (signal) => seedReplica(id, replicaOf, signal))
      if (replicaOf && formSet) await t.step('writer-address', () => formSet(replicaOf))
      else await onAFreePlace('guest-prepare', (signal) => steps.prepare(id, { databases: input.databases, users: input.users }, signal))
      // A spare runs with its version's defaults already (changes to them reach spares too): only a
      // group given at create is new to it.
      const restartRequired = await t.step('configure', (signal) => configuration.apply(id, { ...(input.fromSpare ? { onlyIfGroup: true } : { onlyIfAny: true }), signal }))
      // A new instance has no clients yet: restart now rather than leave it RESTART_REQUIRED. A
      // spare of another flavor restarts too: every engine renders its flavor's tuning at start.
      const retune = input.fromSpare !== undefined && !input.fromSpare.sameFlavor
      const restart = restartRequired.length > 0 || retune
      if (restart) await onAFreePlace('restart-for-configuration', (signal) => configuration.restart(id, signal))
      // A spare's running engine was just logged into by prepare (which resolves only when the
      // engine accepts connections); anything started or restarted here is waited for.
      if (!input.fromSpare || restart) await t.step('wait-healthy', (signal) => steps.waitHealthy(id, signal))
      await t.step('mark-active', () => steps.markActive(id))
    },
    shouldStop: (input) => steps.isDeleting(input.instanceId),
    onFailure: async (input, err, task) => {
      // An instance on its way out needs no fault; its delete task cleans up what this one left.
      if (!(await steps.isDeleting(input.instanceId))) await steps.markFailed(input.instanceId, err, 'create-instance', task.id)
    },
    // Initial users' passwords are needed only until the guest has made the users.
    scrub: (input) => ({ ...input, users: input.users.map((u) => ({ ...u, password: '' as const })) }),
  })

/** Told by its code, not its class: an error that crossed a bus between processes is a copy. */
const isPortInUse = (err: unknown): err is Pick<CofferError, 'code' | 'details'> => (err as { code?: unknown } | null)?.code === 'PORT_IN_USE'

/** The create's failure once the engine found every place it was given taken. */
const outOfPlaces = (last: Pick<CofferError, 'details'>, places: readonly string[]): CofferError =>
  new CofferError('PORT_IN_USE', `The engine could not listen on any of ${places.join(', ')}: other processes took each before it started.`, {
    retryable: false,
    cause: last,
    details: last.details,
  })
