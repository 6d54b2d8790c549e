/**
 * Coffer's own backup schedule API (an extension: Trove keeps schedules in Mistral, served by
 * routes/mistral.ts from the same rows): `GET/POST /instances/{id}/schedules`, `GET /schedules`,
 * `GET/DELETE /schedules/{id}`. The scheduler (scheduler/backup-scheduler.ts) runs them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { NotFound } from '../../core/errors.js'
import * as schedules from '../../store/repos/backup-schedules.js'
import { findClientInstance } from '../../store/repos/instances.js'
import type { BackupScheduleRow, Db } from '../../store/schema.js'
import { projectScope } from '../auth.js'
import { parseBody } from '../parse.js'
import { createSchedule } from '../schedule-create.js'
import { scheduleView } from '../views/schedule.js'

type P = { Params: { projectId: string; instanceId: string; scheduleId: string }; Querystring: { instance_id?: string } }

const keep = (what: string) => z.number({ error: `must be a whole number of ${what} to keep, at least 1` }).int({ error: `must be a whole number of ${what} to keep` }).min(1, { error: `must be at least 1 (${what} to keep)` }).nullish()
const CreateBody = z.object({
  schedule: z.object(
    {
      pattern: z.string({ error: 'is required: a cron pattern, e.g. "0 2 * * *" or "0 0 2 ? * *" (UTC)' }),
      name: z.string({ error: 'is required: the name of the backups it makes' }),
      description: z.string().nullish(),
      incremental: z.boolean().optional(),
      verify: z.boolean().optional(),
      keep_last: keep('backups'),
      keep_days: keep('days'),
    },
    { error: 'is required: {"schedule": {"pattern": ..., "name": ...}}' },
  ),
})

/** How many runs `GET /schedules/{id}` shows, newest first. */
const SHOWN_RUNS = 20

export async function requireSchedule(db: Db, req: FastifyRequest<P>): Promise<BackupScheduleRow> {
  const s = await schedules.findSchedule(db, req.params.scheduleId, projectScope(req))
  if (!s) throw new NotFound(`Backup schedule ${req.params.scheduleId} could not be found.`)
  return s
}

export function scheduleRoutes(app: FastifyInstance, db: Db): void {
  app.get<P>('/v1.0/:projectId/schedules', async (req) => ({
    schedules: (await schedules.listSchedules(db, { projectId: req.params.projectId, instanceId: req.query.instance_id })).map((s) => scheduleView(s)),
  }))

  app.get<P>('/v1.0/:projectId/instances/:instanceId/schedules', async (req) => {
    const instance = await findClientInstance(db, req.params.instanceId, projectScope(req))
    if (!instance) throw new NotFound(`Instance ${req.params.instanceId} could not be found.`, 'INSTANCE_NOT_FOUND')
    return { schedules: (await schedules.listSchedules(db, { instanceId: instance.id })).map((s) => scheduleView(s)) }
  })

  app.post<P>('/v1.0/:projectId/instances/:instanceId/schedules', async (req) => {
    const { schedule: b } = parseBody(CreateBody, req.body)
    const row = await createSchedule(db, {
      projectScope: projectScope(req),
      instanceId: req.params.instanceId,
      name: b.name,
      description: b.description,
      pattern: b.pattern,
      incremental: b.incremental,
      verify: b.verify,
      keepLast: b.keep_last,
      keepDays: b.keep_days,
    })
    return { schedule: scheduleView(row, []) }
  })

  app.get<P>('/v1.0/:projectId/schedules/:scheduleId', async (req) => {
    const s = await requireSchedule(db, req)
    return { schedule: scheduleView(s, await schedules.recentRuns(db, s.id, SHOWN_RUNS)) }
  })

  app.delete<P>('/v1.0/:projectId/schedules/:scheduleId', async (req, reply) => {
    const s = await requireSchedule(db, req)
    await schedules.deleteSchedule(db, s.id)
    return reply.code(202).send()
  })
}
