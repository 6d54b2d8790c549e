/**
 * The master key that wraps every backup's data key (data-key.ts). Only the control plane loads it:
 * from COFFER_BACKUP_KEY (64 hex digits or base64 of 32 bytes; for homes whose key is kept
 * elsewhere, e.g. a secret manager) or else from `<home>/private/backup.key`, made on first use,
 * 0600. Losing it loses every backup, so the error says where it was looked for.
 */
import { join } from 'node:path'
import { privateDir, privateKey } from '../private-home.js'

export const backupKeyPath = (home: string): string => join(privateDir(home), 'backup.key')

export async function loadBackupKey(home: string, fromEnv?: string): Promise<Buffer> {
  if (fromEnv) return parseBackupKey(fromEnv)
  const path = backupKeyPath(home)
  const key = await privateKey(path)
  if (key.length !== 32) throw new Error(`${path} is not a backup key (32 bytes); restore it from where the home's keys are kept: without it no backup can be read`)
  return key
}

/** COFFER_BACKUP_KEY's value as 32 bytes; the message never repeats the value. */
export function parseBackupKey(value: string): Buffer {
  const v = value.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64')
  if (key.length !== 32) throw new Error('COFFER_BACKUP_KEY must be 32 bytes: 64 hex digits or base64')
  return key
}
