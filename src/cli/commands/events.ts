/** `coffer events INSTANCE`: what happened to an instance (set operations, automatic failover), newest first. */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList } from '../output.js'
import { resolveInstanceId } from '../resolve.js'

export function eventCommands(program: Command, client: () => CofferClient): void {
  program
    .command('events <instance>')
    .description("Show an instance's events (promote, eject, detach, automatic failover), newest first")
    .option('--json', 'print JSON')
    .action(async (instance: string, o: { json?: boolean }) => {
      const c = client()
      const { events } = await c.request('GET', `/instances/${await resolveInstanceId(c, instance)}/events`)
      printList(events, [['At', (e) => e.at], ['Kind', (e) => e.kind], ['Message', (e) => e.message]], o, events)
    })
}
