import { CofferError } from '../core/errors.js'
import type { BackupSteps } from './steps/backup-steps.js'
import { workflow } from './workflow.js'

export interface CreateBackupInput {
  readonly backupId: string
  /** Run a restore drill once it completed (a schedule's `--verify`). */
  readonly verify?: boolean
}

/**
 * NEW → BUILDING → COMPLETED, the instance BACKUP meanwhile and serving all along. The node streams
 * the engine's backup to the object store, reads every object back and checks it; only then is the
 * backup COMPLETED. A failure (or a crash the retries cannot get past) ends it FAILED with no object
 * left, and the instance ACTIVE again. A delete of the instance cancels it.
 */
export const createBackup = (steps: BackupSteps) =>
  workflow<CreateBackupInput>({
    kind: 'create-backup',
    async run(t, input) {
      const id = input.backupId
      await t.step('building', () => steps.markBuilding(id))
      await t.step('archive', () => steps.enableArchive(id))
      const report = await t.step('backup', (signal) => steps.takeBackup(id, signal))
      await t.step('completed', () => steps.markCompleted(id, report))
      if (input.verify) {
        try {
          await t.step('drill', async (signal) => steps.markVerified(id, await steps.drill(id, signal)))
        } catch (err) {
          // The backup itself is fine as stored; the drill's failure is recorded on it, loudly.
          await steps.markVerifyFailed(id, err)
        }
      }
    },
    shouldStop: (input) => steps.instanceDeleting(input.backupId),
    onFailure: (input, err) => steps.markFailed(input.backupId, err),
    // The node removed what the cancelled backup had stored; the backup itself ends FAILED, saying why.
    onCancel: (input) => steps.markFailed(input.backupId, new CofferError('CONFLICT', 'The instance was deleted while it was being backed up.', { retryable: false })),
  })
