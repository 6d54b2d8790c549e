import type { ProgressView } from '../../conductor/progress-board.js'
import type { BackupRow } from '../../store/schema.js'
import { troveTime } from '../links.js'

export interface BackupViewExtras {
  readonly datastore: { readonly type: string; readonly version: string; readonly version_id: string }
  /** `fs` or `s3`, and the bucket: where `locationRef` points. */
  readonly store: { readonly kind: string; readonly bucket?: string }
  readonly progress?: ProgressView | undefined
}

/**
 * Trove's backup (samples/backup-get-response.json): size in GB of what is stored. Coffer's extra
 * fields: the strategy, the data's own size, the consistent point, the last restore drill, why it
 * failed, and progress while it runs.
 */
export function backupView(b: BackupRow, x: BackupViewExtras) {
  const stored = b.stored_bytes === null ? null : Number(b.stored_bytes)
  return {
    id: b.id,
    name: b.name,
    description: b.description,
    instance_id: b.instance_id,
    parent_id: b.parent_id,
    status: b.status,
    size: stored === null ? null : Math.round((stored / 2 ** 30) * 1000) / 1000,
    locationRef: x.store.kind === 's3' ? `s3://${x.store.bucket}/${b.location}` : `coffer-objects:${b.location}`,
    storage_driver: x.store.kind,
    datastore: x.datastore,
    project_id: b.project_id,
    created: troveTime(b.created_at),
    updated: troveTime(b.updated_at),
    strategy: b.strategy,
    incremental: b.parent_id !== null,
    data_size_bytes: b.data_bytes === null ? null : Number(b.data_bytes),
    taken_at: b.taken_at,
    ...(b.status_detail ? { status_detail: b.status_detail } : {}),
    verified: b.verified_at ? { at: b.verified_at, status: b.verify_status, detail: b.verify_detail } : null,
    ...(x.progress ? { progress: x.progress } : {}),
  }
}
