/**
 * `/instances/{id}/log`: Trove's guest logs. GET lists the instance's logs; POST `{name, enable |
 * disable | publish | discard: 1}` acts on one and answers it, a POST with only the name shows it.
 * `GET /instances/{id}/log/{name}` is Coffer's own: the published copy (Trove's clients read it
 * from Swift instead), for `coffer log-tail` and `log-save`.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest } from '../../core/errors.js'
import type { GuestLogContents, GuestLogInfo, LogOp } from '../../guest/protocol.js'
import type { ApiContext } from '../context.js'
import { readyInstance, type InstanceParams } from '../instance-guest.js'
import { parseBody } from '../parse.js'

// troveclient sends 1; true and "1" mean the same.
const flag = z.union([z.boolean(), z.number(), z.string()]).optional().transform((v) => v === true || v === 1 || v === '1' || v === 'true')

const ActionBody = z.object({ name: z.string().min(1).max(64), enable: flag, disable: flag, publish: flag, discard: flag })

type LogParams = { Params: InstanceParams['Params'] & { name: string }; Querystring: { lines?: string; from?: string } }

const count = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined || v === '') return undefined
  if (!/^\d{1,12}$/.test(v)) throw new BadRequest(`${what} must be a whole number.`)
  return Number(v)
}

export function logRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<InstanceParams>('/v1.0/:projectId/instances/:instanceId/log', async (req) => {
    const inst = await readyInstance(ctx, req, 'provisioning')
    return { logs: (await inst.api.log(inst.spec, { op: 'list' })) as GuestLogInfo[] }
  })

  app.post<InstanceParams>('/v1.0/:projectId/instances/:instanceId/log', async (req) => {
    const body = parseBody(ActionBody, req.body)
    if (body.enable && body.disable) throw new BadRequest(`Cannot enable and disable log '${body.name}'.`)
    const inst = await readyInstance(ctx, req, 'provisioning')
    const run = async (op: LogOp['op']) => (await inst.api.log(inst.spec, { op, name: body.name } as LogOp)) as GuestLogInfo
    // Discard before publish (log-publish --discard starts the copy afresh); disable last, as a
    // publish turns a USER log on.
    let log = await run(body.enable ? 'enable' : 'show')
    if (body.discard) log = await run('discard')
    if (body.publish) log = await run('publish')
    if (body.disable) log = await run('disable')
    return { log }
  })

  app.get<LogParams>('/v1.0/:projectId/instances/:instanceId/log/:name', async (req) => {
    const lines = count(req.query.lines, 'lines')
    const from = count(req.query.from, 'from')
    const inst = await readyInstance(ctx, req, 'provisioning')
    const contents = (await inst.api.log(inst.spec, { op: 'read', name: req.params.name, lines, from })) as GuestLogContents
    return { log: { name: req.params.name, contents: contents.text, end: contents.end } }
  })
}
