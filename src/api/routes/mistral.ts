/**
 * The part of Mistral's v2 API that troveclient's `schedule-*` and `execution-*` commands use
 * (through python-mistralclient, which finds it as the catalog's `workflowv2` service): cron
 * triggers of the `trove.backup_create` workflow, which are Coffer's backup schedules, and their
 * executions, which are the schedules' runs. The project is the token's. Errors come in Mistral's
 * shape, `{"faultstring": ...}`, which mistralclient shows.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { BadRequest, Conflict, NotFound } from '../../core/errors.js'
import * as schedules from '../../store/repos/backup-schedules.js'
import type { Db } from '../../store/schema.js'
import { requireToken } from '../auth.js'
import { frameworkFault } from '../errors.js'
import { parseBody } from '../parse.js'
import { createSchedule } from '../schedule-create.js'
import { BACKUP_WORKFLOW, BACKUP_WORKFLOW_ID, cronTriggerView, executionView } from '../views/mistral.js'

type P = { Params: { name: string; id: string }; Querystring: { marker?: string; limit?: string; sort_dirs?: string; sort_keys?: string } }

const TriggerBody = z.object({
  name: z.string({ error: 'is required' }).min(1, { error: 'is required' }),
  pattern: z.string({ error: 'is required: Coffer runs cron triggers by pattern only' }),
  workflow_name: z.string().nullish(),
  workflow_id: z.string().nullish(),
  workflow_input: z.string().max(4096).nullish(),
  workflow_params: z.string().nullish(),
  first_execution_time: z.null({ error: 'is not supported: Coffer runs cron triggers by pattern only' }).optional(),
  remaining_executions: z.null({ error: 'is not supported: Coffer runs cron triggers by pattern only' }).optional(),
})

/** troveclient's workflow input, and Coffer's retention and drill as optional extras. */
const WorkflowInput = z.strictObject({
  instance: z.string({ error: 'is required (the instance id)' }),
  name: z.string({ error: 'is required (the backup name)' }),
  description: z.string().nullish(),
  incremental: z.boolean().nullish(),
  parent_id: z.null().optional(),
  keep_last: z.number().nullish(),
  keep_days: z.number().nullish(),
  verify: z.boolean().nullish(),
})

const MAX_PAGE = 1000

export function mistralRoutes(app: FastifyInstance, db: Db, adminProject: string, log: (msg: string, err?: unknown) => void): void {
  void app.register(
    async (m) => {
      m.setErrorHandler((err, _req, reply) => {
        const f = frameworkFault(err, log)
        const message = Object.values(f.body)[0]?.message ?? ''
        void reply.code(f.status).send({ faultstring: message, faultcode: f.status < 500 ? 'Client' : 'Server', debuginfo: null })
      })
      m.addHook('preHandler', requireToken(db, adminProject))
      const project = (req: FastifyRequest) => req.principal.projectId
      const trigger = async (req: FastifyRequest<P>) => {
        const s = await schedules.findSchedule(db, req.params.name, project(req))
        if (!s) throw new NotFound(`Cron trigger not found [name=${req.params.name}]`)
        return s
      }

      m.post('/cron_triggers', async (req, reply) => {
        const b = parseBody(TriggerBody, req.body)
        if ((b.workflow_name ?? BACKUP_WORKFLOW) !== BACKUP_WORKFLOW || (b.workflow_id && b.workflow_id !== BACKUP_WORKFLOW_ID)) {
          throw new BadRequest(`Coffer serves only the ${BACKUP_WORKFLOW} workflow (troveclient's schedule-create); got ${b.workflow_name ?? b.workflow_id}.`)
        }
        if (b.workflow_params && !/^\s*\{\s*\}\s*$/.test(b.workflow_params)) throw new BadRequest('workflow_params is not supported by Coffer\'s cron triggers; leave it out.')
        const text = b.workflow_input ?? ''
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          throw new BadRequest(`workflow_input must be a JSON object such as {"instance": "<id>", "name": "daily-bkp"}, not ${JSON.stringify(text.slice(0, 100))}.`)
        }
        const input = parseBody(WorkflowInput, json)
        const row = await createSchedule(db, {
          id: b.name,
          projectScope: project(req),
          instanceId: input.instance,
          name: input.name,
          description: input.description,
          pattern: b.pattern,
          incremental: input.incremental ?? false,
          verify: input.verify ?? false,
          keepLast: input.keep_last,
          keepDays: input.keep_days,
          workflowInput: text,
        })
        return reply.code(201).send(cronTriggerView(row))
      })

      m.get('/cron_triggers', async (req) => ({ cron_triggers: (await schedules.listSchedules(db, { projectId: project(req) })).map(cronTriggerView) }))
      m.get<P>('/cron_triggers/:name', async (req) => cronTriggerView(await trigger(req)))
      m.delete<P>('/cron_triggers/:name', async (req, reply) => {
        await schedules.deleteSchedule(db, (await trigger(req)).id)
        return reply.code(204).send()
      })

      m.get<P>('/executions', async (req) => {
        const q = req.query
        const limit = q.limit === undefined ? MAX_PAGE : Number(q.limit)
        if (!Number.isInteger(limit) || limit < 1) throw new BadRequest(`limit must be a positive whole number, not '${q.limit}'.`)
        const dir = (q.sort_dirs ?? 'asc').split(',')[0]?.trim().toLowerCase()
        if (dir !== 'asc' && dir !== 'desc') throw new BadRequest(`sort_dirs must be asc or desc, not '${q.sort_dirs}'.`)
        if (q.marker && !(await schedules.findRun(db, q.marker, project(req)))) throw new BadRequest(`marker ${q.marker} is not an execution of this project.`)
        const rows = await schedules.projectRuns(db, project(req), { limit: Math.min(limit, MAX_PAGE), marker: q.marker, dir })
        return { executions: rows.map(executionView) }
      })
      m.get<P>('/executions/:id', async (req) => {
        const r = await schedules.findRun(db, req.params.id, project(req))
        if (!r) throw new NotFound(`Execution not found [id=${req.params.id}]`)
        return executionView(r)
      })
      m.delete<P>('/executions/:id', async (req, reply) => {
        const r = await schedules.findRun(db, req.params.id, project(req))
        if (!r) throw new NotFound(`Execution not found [id=${req.params.id}]`)
        if (r.state === 'RUNNING') throw new Conflict(`Execution ${r.id} is RUNNING (its backup ${r.backup_id ?? ''} is being taken); delete it once it has ended.`)
        await schedules.deleteRun(db, r.id)
        return reply.code(204).send()
      })
    },
    { prefix: '/v2' },
  )
}
