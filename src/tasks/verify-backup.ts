import type { BackupSteps } from './steps/backup-steps.js'
import { workflow } from './workflow.js'

export interface VerifyBackupInput {
  readonly backupId: string
}

/**
 * A restore drill: the backup (its whole chain) is restored into a throwaway engine on a node,
 * started, and every table read; the backup then shows when it was verified and what was found. A
 * failed drill is recorded loudly on the backup (status detail) and in the server's log.
 */
export const verifyBackup = (steps: BackupSteps) =>
  workflow<VerifyBackupInput>({
    kind: 'verify-backup',
    async run(t, input) {
      const report = await t.step('drill', (signal) => steps.drill(input.backupId, signal))
      await t.step('verified', () => steps.markVerified(input.backupId, report))
    },
    onFailure: (input, err) => steps.markVerifyFailed(input.backupId, err),
  })
