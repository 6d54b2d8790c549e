/**
 * Trove routes whose feature Coffer has not built yet. They answer 501 notImplemented saying so,
 * rather than 404, so a client (or a person reading `trove backup-list`'s error) learns that the
 * route is known and the feature is missing, not that they mistyped. A feature that gets built
 * moves its routes out of this table into its own file.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify'
import { NotImplemented } from '../../core/errors.js'

const ALL: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

/** [feature, methods, paths under /v1.0/{project_id}] after trove/common/api.py and extensions/routes/mgmt.py. */
const NOT_BUILT: readonly (readonly [string, HTTPMethods[], readonly string[]])[] = [
  ['Backup strategies (per project)', ['POST', 'DELETE'], ['/backup_strategies']],
  ['Clusters', ALL, ['/clusters', '/clusters/:id', '/clusters/:id/instances/:instanceId', '/clusters/:id/root']],
  ['Modules', ALL, ['/modules', '/modules/:id', '/modules/:id/instances', '/instances/:instanceId/modules', '/instances/:instanceId/modules/:id']],
  ['Instance SSL', ALL, ['/instances/:instanceId/ssl']],
  ['Volume types', ALL, ['/datastores/:datastore/versions/:version/volume-types']],
  ['Datastore removal', ['DELETE'], ['/datastores/:datastore']],
  [
    'Management of instances (mgmt)',
    ALL,
    ['/mgmt/instances', '/mgmt/instances/:instanceId', '/mgmt/instances/:instanceId/action', '/mgmt/instances/:instanceId/diagnostics', '/mgmt/instances/:instanceId/hwinfo', '/mgmt/instances/:instanceId/rpc_ping', '/mgmt/instances/:instanceId/upgrade'],
  ],
  ['Management of clusters (mgmt)', ALL, ['/mgmt/clusters', '/mgmt/clusters/:id', '/mgmt/clusters/:id/action']],
  ['Management of datastore versions (mgmt)', ALL, ['/mgmt/datastore-versions', '/mgmt/datastore-versions/:id']],
  ['Management of configuration parameters (mgmt)', ALL, ['/mgmt/datastores/versions/:versionId/parameters', '/mgmt/datastores/versions/:versionId/parameters/:name']],
]

export function notBuiltRoutes(app: FastifyInstance): void {
  for (const [feature, methods, paths] of NOT_BUILT) {
    for (const path of paths) {
      app.route({
        method: methods,
        url: `/v1.0/:projectId${path}`,
        handler: async (req) => {
          throw new NotImplemented(`Not built in Coffer yet: ${feature}. ${req.method} ${path.replace(/:(\w+)/g, '{$1}')} is a Trove route that Coffer does not serve yet (the README's API section lists what it serves).`)
        },
      })
    }
  }
}
