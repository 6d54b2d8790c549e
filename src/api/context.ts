import type { Settings } from '../config.js'
import type { CharacterSetCatalog } from '../core/character-sets.js'
import type { ParameterSpec } from '../core/configuration.js'
import type { ProgressBoard } from '../conductor/progress-board.js'
import type { Sealer } from '../store/sealed.js'
import type { BackupKeys } from '../tasks/steps/backup-keys.js'
import type { GuestApi, InstanceSpec } from '../guest/protocol.js'
import type { Db, InstanceRow } from '../store/schema.js'

/** What route handlers need; built once in main.ts. */
export interface ApiContext {
  readonly db: Db
  readonly settings: Settings
  /** Seals secrets that a task must keep until it has used them (core/sealed.ts). */
  readonly sealer: Sealer
  /** Wakes the task runner after a task was enqueued. */
  readonly kickTasks: () => void
  /** The guest API of the node an instance is placed on, and what that node needs to know of it. */
  /** The parameter catalog of a datastore version, asked of a node that has it. */
  readonly catalog: (datastore: string, version: string) => Promise<ParameterSpec[]>
  /** The character sets and collations of a datastore version, asked of a node that has it. */
  readonly characterSets: (datastore: string, version: string) => Promise<CharacterSetCatalog>
  /** What the largest node can give one instance; flavors over it are refused at create. */
  readonly capacity: NodeCapacity
  readonly guestOf: (row: InstanceRow) => Promise<{ readonly api: GuestApi; readonly spec: InstanceSpec }>
  /** Makes and unwraps backups' data keys (the master key stays inside). */
  readonly backupKeys: BackupKeys
  /** How far running backups and restores have got, from the nodes. */
  readonly progress: ProgressBoard
  /** Where backups are stored, for `locationRef` and `/backup_strategies`: `fs` or `s3`, and the bucket. */
  readonly backupStore: { readonly kind: string; readonly bucket?: string }
  /** Stops every engine of the node and then the server (POST /mgmt/shutdown); absent where not offered. */
  readonly shutdown?: () => void
}

export interface NodeCapacity {
  readonly ramMb: number
  readonly vcpus: number
}
