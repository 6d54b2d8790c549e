/**
 * The one object a PostgreSQL backup stores under its own prefix: `repository`, the stanza and the
 * repository's passphrase sealed with the backup's data key. With it a backup is restored with its
 * own key alone, after its instance (and the control plane's copy of the archive key) is gone.
 */
import { Readable } from 'node:stream'
import type { ObjectStore, PutResult } from '../../../storage/object-store.js'
import type { ArchiveTarget, BackupLocation, BackupRequest, StoredBackup } from '../backup.js'
import { openSealed, putSealed } from '../common/sealed-objects.js'
import { repoOf } from './archive.js'
import { backupCorrupt, type Repo } from './pgbackrest.js'

export const repositoryKey = (prefix: string): string => `${prefix}repository`

export async function sealRepository(store: ObjectStore, request: BackupRequest, repo: Repo): Promise<PutResult> {
  const body = JSON.stringify({ stanza: repo.stanza, passphrase: repo.key.toString('hex') })
  return putSealed(store, repositoryKey(request.prefix), Readable.from([Buffer.from(body)]), request.dataKey)
}

/** The repository a stored backup lives in: the archive's when given, else what the backup sealed. */
export async function repoOfBackup(location: BackupLocation, backup: StoredBackup, archive?: ArchiveTarget): Promise<Repo> {
  if (archive) return repoOf(location, archive)
  const stream = await openSealed(location.store, repositoryKey(backup.prefix), backup.dataKey, backup.backupId).catch((err: unknown) => {
    throw (err as { code?: string }).code === 'OBJECT_NOT_FOUND' ? backupCorrupt(backup.backupId, err) : err
  })
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  const sealed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stanza: string; passphrase: string }
  return { settings: location.settings, store: location.store, stanza: sealed.stanza, key: Buffer.from(sealed.passphrase, 'hex') }
}

