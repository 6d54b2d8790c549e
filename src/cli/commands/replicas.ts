/**
 * Replica set actions in `trove`'s words: promote-to-replica-source (a planned switchover),
 * eject-replica-source (the source is lost), detach-replica. `--wait` shows the status until done.
 */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { resolveInstanceId } from '../resolve.js'
import { act, waitUntilDone } from './actions.js'
import { waitFor } from './instances.js'

type WaitOpts = { wait?: boolean }

export function replicaCommands(program: Command, client: () => CofferClient): void {
  program
    .command('promote-to-replica-source <replica>')
    .description('Planned switchover: the source stops taking writes, the replica catches up and becomes the source; the old source and the other replicas follow it')
    .option('--wait', 'show progress until it has ended (exit 1 unless ACTIVE)')
    .action(async (replica: string, o: WaitOpts) => {
      const { c, id } = await act(client, replica, { promote_to_replica_source: {} })
      if (o.wait) await waitUntilDone(c, id, ['PROMOTE'], 'ACTIVE')
      else console.log(`Promoting replica ${id}.`)
    })
  program
    .command('eject-replica-source <replica>')
    .description('The source is lost: the most advanced replica becomes the source, the others follow it; the old source stays fenced out of the set')
    .option('--wait', 'show progress until it has ended')
    .action(async (replica: string, o: WaitOpts) => {
      const { c, id } = await act(client, replica, { eject_replica_source: {} })
      if (o.wait) await waitFor(c, id, (i) => !i || i.status !== 'EJECT', false)
      else console.log(`Ejecting the source of replica ${id}.`)
    })
  program
    .command('detach-replica <replica>')
    .description('Make a replica a standalone writable instance, out of its set')
    .option('--wait', 'show progress until it has ended (exit 1 unless ACTIVE)')
    .action(async (replica: string, o: WaitOpts) => {
      const c = client()
      const id = await resolveInstanceId(c, replica)
      await c.request('PUT', `/instances/${id}`, { instance: { replica_of: null } })
      if (o.wait) await waitUntilDone(c, id, ['DETACH'], 'ACTIVE')
      else console.log(`Detaching replica ${id}.`)
    })
}
