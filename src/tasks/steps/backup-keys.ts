/**
 * The control plane's hold on backup keys: it makes each backup's (and each archive's) random data
 * key, keeps it only wrapped by the master key, and unwraps it just for the node command that needs
 * it. The master key itself never leaves this process.
 */
import { newDataKey, unwrapDataKey, wrapDataKey, type WrappedKey } from '../../storage/data-key.js'

export interface BackupKeys {
  /** A fresh data key, wrapped for `label` (a backup's id, or `archive <instance id>`). */
  newWrapped(label: string): WrappedKey
  /** The data key as base64, for one node command. */
  unwrap(wrapped: string, label: string): string
}

export function backupKeysWith(masterKey: Buffer): BackupKeys {
  return {
    newWrapped: (label) => wrapDataKey(masterKey, newDataKey(), label),
    unwrap: (wrapped, label) => unwrapDataKey(masterKey, wrapped, label).toString('base64'),
  }
}

export const archiveLabel = (instanceId: string): string => `archive ${instanceId}`
