/**
 * A schema command (databases, users, root) carried out by the datastore part that has it; a
 * datastore without that part answers 501.
 */
import { NotImplemented } from '../core/errors.js'
import type { Datastore, InstanceContext } from '../guest/datastores/datastore.js'
import type { SchemaOp } from '../guest/protocol.js'

export function runSchemaOp(name: string, ds: Datastore, ctx: InstanceContext, op: SchemaOp): Promise<unknown> {
  const part = <T>(p: T | undefined, what: string): T => {
    if (!p) throw new NotImplemented(`Datastore ${name} does not support ${what}.`)
    return p
  }
  switch (op.op) {
    case 'list-databases':
      return part(ds.databases, 'databases').list(ctx)
    case 'create-databases':
      return part(ds.databases, 'databases').create(ctx, op.databases)
    case 'delete-database':
      return part(ds.databases, 'databases').delete(ctx, op.name)
    case 'list-users':
      return part(ds.users, 'users').list(ctx)
    case 'create-users':
      return part(ds.users, 'users').create(ctx, op.users)
    case 'delete-user':
      return part(ds.users, 'users').delete(ctx, op.user)
    case 'update-user':
      return part(ds.users, 'users').update(ctx, op.user, op.changes)
    case 'grant':
      return part(ds.users, 'users').grant(ctx, op.user, op.databases)
    case 'revoke':
      return part(ds.users, 'users').revoke(ctx, op.user, op.database)
    case 'enable-root':
      return part(ds.root, 'root').enable(ctx, op.password)
    case 'disable-root':
      return part(ds.root, 'root').disable(ctx)
  }
}
