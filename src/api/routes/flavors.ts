import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../core/errors.js'
import { findFlavor, listFlavors } from '../../store/repos/flavors.js'
import type { Db } from '../../store/schema.js'
import { baseUrl } from '../links.js'
import { flavorView } from '../views/flavor.js'

type P = { Params: { projectId: string; flavorId: string } }

export function flavorRoutes(app: FastifyInstance, db: Db): void {
  app.get<P>('/v1.0/:projectId/flavors', async (req) => ({
    flavors: (await listFlavors(db)).map((f) => flavorView(baseUrl(req), req.params.projectId, f)),
  }))
  app.get<P>('/v1.0/:projectId/flavors/:flavorId', async (req) => {
    const f = await findFlavor(db, req.params.flavorId)
    if (!f) throw new NotFound(`Resource ${req.params.flavorId} cannot be found.`, 'FLAVOR_NOT_FOUND')
    return { flavor: flavorView(baseUrl(req), req.params.projectId, f) }
  })
  // Every flavor fits every datastore version on a local node.
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions/:version/flavors', async (req) => ({
    flavors: (await listFlavors(db)).map((f) => flavorView(baseUrl(req), req.params.projectId, f)),
  }))
}
