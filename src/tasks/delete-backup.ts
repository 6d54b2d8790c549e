import type { BackupSteps } from './steps/backup-steps.js'
import { workflow } from './workflow.js'

export interface DeleteBackupInput {
  readonly backupId: string
}

/** Removes the backup's stored objects, then its record; DELETE_FAILED (deletable again) if the store refused. */
export const deleteBackup = (steps: BackupSteps) =>
  workflow<DeleteBackupInput>({
    kind: 'delete-backup',
    async run(t, input) {
      await t.step('remove-objects', () => steps.removeObjects(input.backupId))
      await t.step('forget', () => steps.forget(input.backupId))
    },
    onFailure: (input, err) => steps.markDeleteFailed(input.backupId, err),
  })
