/**
 * Coffer's own `{"stop": {}}` and `{"start": {}}` actions. A stop marks the instance stopped in the
 * same write that starts its task, so the node is never told to bring the engine back meanwhile.
 */
import { Unprocessable } from '../core/errors.js'
import { mayStart, mayStop, type TaskStatus } from '../core/instance.js'
import { transition } from '../store/repos/transition.js'
import type { InstanceRow } from '../store/schema.js'
import { enqueue } from '../tasks/queue.js'
import type { ApiContext } from './context.js'
import { statusInputs } from './views/instance.js'

export async function stopOrStart(ctx: ApiContext, row: InstanceRow, action: 'stop' | 'start'): Promise<void> {
  const s = statusInputs(row)
  if (action === 'stop' && !mayStop(s)) throw new Unprocessable(`Instance ${row.id} cannot be stopped now: it is ${s.stopped ? 'stopped already' : 'not ready'}.`)
  if (action === 'start' && !mayStart(s)) throw new Unprocessable(`Instance ${row.id} cannot be started: only a stopped instance with no operation at work can.`)
  const [to, kind]: [TaskStatus, 'stop-instance' | 'start-instance'] = action === 'stop' ? ['STOPPING', 'stop-instance'] : ['STARTING', 'start-instance']
  const queued = await ctx.db.transaction().execute(async (trx) => {
    if (!(await transition(trx, row.id, 'NONE', to, { also: { stopped: action === 'stop' ? 1 : 0 } }))) return false
    await enqueue(trx, { instanceId: row.id, kind, input: { instanceId: row.id } })
    return true
  })
  if (!queued) throw new Unprocessable(`Instance ${row.id} is not ready: another operation began on it.`)
  ctx.kickTasks()
}
