/**
 * Spares are rows of `instances` owned by the reserved project SPARE_PROJECT (no real project has
 * that id: real ones are 32 hex digits), so everything that runs an instance — placement, the
 * envelope, heartbeats, the supervisor, adoption after a restart, delete — runs a spare too, and
 * every project-scoped query leaves them out. A create claims one by giving it an owner.
 */
import type { Db, InstanceRow } from '../schema.js'
import { SPARE_PROJECT } from './instances.js'
import { insertTask, openTasksOf } from './tasks.js'
import { transition } from './transition.js'

export { SPARE_PROJECT }

export const listSpares = (db: Db): Promise<InstanceRow[]> =>
  db.selectFrom('instances').selectAll().where('project_id', '=', SPARE_PROJECT).orderBy('created_at').orderBy('id').execute()

/**
 * A spare that is no use any more: its build failed, or new version defaults wait for a restart
 * it would not get (a claim restarts only for the client's flavor or group).
 */
export const isSpoilt = (r: InstanceRow): boolean => r.fault_message !== null || Number(r.pending_restart) === 1

/** A spare that can be handed out now: built, healthy, not spoilt, no task at work on it. */
export const isClaimable = (r: InstanceRow): boolean => r.task_status === 'NONE' && r.service_status === 'HEALTHY' && r.port !== null && !isSpoilt(r)

/**
 * Gives a ready spare of `wanted`'s datastore version to a client's create: the spare's row takes
 * everything from `wanted` (owner, name, flavor, times, BUILD) but keeps its own id, node, address and port.
 * Prefers a spare of the same flavor (nothing to retune). Call inside the create's transaction;
 * resolves with the claimed id and whether its flavor matched, or undefined when none is ready.
 */
export async function claimSpare(db: Db, wanted: InstanceRow): Promise<{ id: string; sameFlavor: boolean } | undefined> {
  const { id: _id, node: _node, address: _address, port: _port, task_status: _t, service_status, pending_restart: _p, fault_message: _m, fault_details: _d, fault_created: _c, fault_operation: _o, fault_task_id: _i, ...claim } = wanted
  const candidates = (await listSpares(db)).filter((r) => r.datastore_version_id === wanted.datastore_version_id && isClaimable(r))
  candidates.sort((a, b) => Number(b.flavor_id === wanted.flavor_id) - Number(a.flavor_id === wanted.flavor_id))
  for (const c of candidates) {
    const won = await transition(db, c.id, 'NONE', 'BUILDING', { also: claim, serviceStatus: service_status, pendingRestart: false, clearFault: 'any', inProject: SPARE_PROJECT })
    if (won) return { id: c.id, sameFlavor: c.flavor_id === wanted.flavor_id }
  }
  return undefined
}

/**
 * The flavor a new spare of this version gets: the one its latest client instance asked for (the
 * likeliest next ask), else the smallest there is; undefined when there are no flavors.
 */
export async function spareFlavor(db: Db, versionId: string): Promise<string | undefined> {
  const latest = await db
    .selectFrom('instances')
    .innerJoin('flavors', 'flavors.id', 'instances.flavor_id')
    .select('instances.flavor_id')
    .where('instances.datastore_version_id', '=', versionId)
    .where('instances.project_id', '!=', SPARE_PROJECT)
    .orderBy('instances.created_at', 'desc')
    .executeTakeFirst()
  if (latest) return latest.flavor_id
  const smallest = await db.selectFrom('flavors').select('id').orderBy('ram_mb').orderBy('vcpus').orderBy('id').executeTakeFirst()
  return smallest?.id
}

/** True while a client's instance is being built (spares wait: they must not slow it down). */
export async function clientsCreating(db: Db): Promise<boolean> {
  const r = await db.selectFrom('instances').select('id').where('task_status', '=', 'BUILDING').where('project_id', '!=', SPARE_PROJECT).executeTakeFirst()
  return r !== undefined
}

/**
 * Retires the spares that another build of Coffer made or is making (a resumed build stops at its
 * next step, as a create does when its instance is deleted). Call at start, before engines are
 * adopted; the keeper makes new ones. Resolves how many.
 *
 * The one writer of tasks outside tasks/queue.ts, because main.ts calls it from here; it moves
 * there with the start-up code when the control plane gets a composition root of its own.
 */
export async function retireSparesOfOtherBuilds(db: Db, build: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let n = 0
    for (const r of (await listSpares(trx)).filter((x) => x.built_by !== build)) {
      if (!(await transition(trx, r.id, ['NONE', 'BUILDING', 'REBOOTING'], 'DELETING'))) continue
      if (!(await openTasksOf(trx, r.id)).some((t) => t.kind === 'delete-instance')) await insertTask(trx, { instanceId: r.id, kind: 'delete-instance', input: { instanceId: r.id } })
      n++
    }
    return n
  })
}
