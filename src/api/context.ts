import type { Settings } from '../config.js'
import type { Db } from '../store/schema.js'

/** What route handlers need; built once in main.ts. */
export interface ApiContext {
  readonly db: Db
  readonly settings: Settings
  /** Wakes the task runner after a task was enqueued. */
  readonly kickTasks: () => void
  /** Effective configuration of an instance, asked of its node. */
  readonly effectiveConfiguration: (instanceId: string) => Promise<Record<string, string | number | boolean>>
}
