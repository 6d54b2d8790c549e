/**
 * Instance actions in `trove`'s argument order: resize-instance, stop, start, reset-status, and
 * update (name, access). `--wait` shows the status as it changes until the action has ended.
 */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { resolveInstanceId } from '../resolve.js'
import { HOME_HELP, stopServer } from './home.js'
import { flavorRef, waitFor } from './instances.js'

type WaitOpts = { wait?: boolean }

/** Until the instance leaves the action's own status; exit 1 unless it ends as `wanted`. */
export async function waitUntilDone(c: CofferClient, id: string, busy: readonly string[], wanted: string): Promise<void> {
  // The status changes in the API's own answer, so the first look already sees the action under way.
  const inst = await waitFor(c, id, (i) => !i || !busy.includes(i.status), false)
  if (inst?.status !== wanted) {
    console.error(`Instance ${id} ended ${inst?.status ?? 'DELETED'}${inst?.fault ? `: ${inst.fault.message}` : ''}.`)
    process.exitCode = 1
  }
}

/** Posts an instance action to the instance named (by id or name); resolves with the client and its id. */
export async function act(client: () => CofferClient, instance: string, body: unknown): Promise<{ c: CofferClient; id: string }> {
  const c = client()
  const id = await resolveInstanceId(c, instance)
  await c.request('POST', `/instances/${id}/action`, body)
  return { c, id }
}

export function actionCommands(program: Command, client: () => CofferClient): void {
  program
    .command('resize-instance <instance> <flavor>')
    .description('Give an instance another flavor (by name or id): its engine is retuned and restarted once')
    .option('--wait', 'show progress until the resize has ended (exit 1 unless ACTIVE)')
    .action(async (instance: string, flavor: string, o: WaitOpts) => {
      const ref = await flavorRef(client(), flavor)
      const { c, id } = await act(client, instance, { resize: { flavorRef: ref } })
      if (o.wait) await waitUntilDone(c, id, ['RESIZE'], 'ACTIVE')
      else console.log(`Resizing instance ${id} to flavor ${ref}.`)
    })
  // One `stop` for both: with an instance it stops that instance, without one the server.
  program
    .command('stop [instance]')
    .description(
      'Stop an instance\'s engine and keep it stopped; its volume and address stay (SHUTDOWN).\n' +
        'With no instance: stop the server running on the home; its databases keep running (see shutdown --all)',
    )
    .option('--wait', 'wait until the instance has stopped')
    .option('--home <dir>', `with no instance: ${HOME_HELP}`)
    .action(async (instance: string | undefined, o: WaitOpts & { home?: string }) => {
      if (instance === undefined) return stopServer(o.home)
      const { c, id } = await act(client, instance, { stop: {} })
      if (o.wait) await waitFor(c, id, (i) => !i || (i.status === 'SHUTDOWN' && i.operating_status === 'SHUTDOWN') || i.status === 'ERROR', false)
      else console.log(`Stopping instance ${id}.`)
    })
  program
    .command('start <instance>')
    .description('Start a stopped instance')
    .option('--wait', 'show progress until it is ACTIVE (exit 1 otherwise)')
    .action(async (instance: string, o: WaitOpts) => {
      const { c, id } = await act(client, instance, { start: {} })
      if (o.wait) await waitUntilDone(c, id, ['REBOOT', 'SHUTDOWN'], 'ACTIVE')
      else console.log(`Starting instance ${id}.`)
    })
  program
    .command('reset-status <instance>')
    .description('Cloud admin: clear a stuck task and fault; the next heartbeat tells the truth')
    .action(async (instance: string) => {
      const { id } = await act(client, instance, { reset_status: {} })
      console.log(`Reset the status of instance ${id}.`)
    })
  program
    .command('update <instance>')
    .description('Rename an instance or change who may connect to it (Trove\'s access)')
    .option('--name <name>', 'a new name')
    .option('--allowed-cidr <cidr>', 'a network clients may connect from (repeat for more); the engine refuses others', (v: string, all: string[] = []) => [...all, v])
    .option('--allow-any-address', 'let clients connect from any address (drops the allowed CIDRs)')
    .option('--public', 'give the instance an address on a real interface (needs a node address pool)')
    .option('--private', 'keep the instance off real interfaces (the default)')
    .action(async (instance: string, o: { name?: string; allowedCidr?: string[]; allowAnyAddress?: boolean; public?: boolean; private?: boolean }) => {
      if (o.public && o.private) throw new Error('give --public or --private, not both')
      if (o.allowedCidr && o.allowAnyAddress) throw new Error('give --allowed-cidr or --allow-any-address, not both')
      const cidrs = o.allowAnyAddress ? [] : o.allowedCidr
      const access = {
        ...(o.public || o.private ? { is_public: !!o.public } : {}),
        ...(cidrs ? { allowed_cidrs: cidrs } : {}),
      }
      const attrs = { ...(o.name ? { name: o.name } : {}), ...(Object.keys(access).length ? { access } : {}) }
      if (Object.keys(attrs).length === 0) throw new Error('nothing to update: give --name, --allowed-cidr, --allow-any-address, --public or --private')
      const c = client()
      const id = await resolveInstanceId(c, instance)
      await c.request('PUT', `/instances/${id}`, { instance: attrs })
      console.log(`Updated instance ${id}${attrs.access ? ' (a change of access restarts its engine)' : ''}.`)
    })
}
