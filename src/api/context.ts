import type { Settings } from '../config.js'
import type { GuestApi, InstanceSpec } from '../guest/protocol.js'
import type { Db, InstanceRow } from '../store/schema.js'

/** What route handlers need; built once in main.ts. */
export interface ApiContext {
  readonly db: Db
  readonly settings: Settings
  /** Wakes the task runner after a task was enqueued. */
  readonly kickTasks: () => void
  /** The guest API of the node an instance is placed on, and what that node needs to know of it. */
  readonly guestOf: (row: InstanceRow) => Promise<{ readonly api: GuestApi; readonly spec: InstanceSpec }>
}
