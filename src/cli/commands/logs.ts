import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveInstanceId } from '../resolve.js'

type Opts = { json?: boolean }

const COLUMNS: [string, (l: any) => unknown][] = [
  ['Name', (l) => l.name], ['Type', (l) => l.type], ['Status', (l) => l.status], ['Published', (l) => l.published],
  ['Pending', (l) => l.pending], ['Container', (l) => l.container], ['Prefix', (l) => l.prefix],
]

/** Trove's guest log commands (`trove log-*`), plus `log-tail --follow` and `log-save` reading Coffer's published copy. */
export function logCommands(program: Command, client: () => CofferClient): void {
  const path = async (instance: string, rest = '') => `/instances/${await resolveInstanceId(client(), instance)}/log${rest}`
  const act = async (instance: string, name: string, flags: Record<string, number>, o: Opts) => {
    const { log } = await client().request('POST', await path(instance), { name, ...flags })
    printObject(log, o)
  }
  const read = async (instance: string, name: string, query: string) =>
    (await client().request('GET', await path(instance, `/${encodeURIComponent(name)}${query}`))).log as { contents: string; end: number }

  program
    .command('log-list <instance>')
    .description('List the logs of an instance: general, slow_query, error...')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const { logs } = await client().request('GET', await path(instance))
      printList(logs, COLUMNS, o, logs)
    })
  const simple: [string, string, Record<string, number>][] = [
    ['log-show', 'Show a log: its status, published and pending bytes', {}],
    ['log-enable', 'Turn a USER log on in the engine', { enable: 1 }],
    ['log-disable', 'Turn a USER log off in the engine (SYS logs stay on)', { disable: 1 }],
    ['log-discard', 'Remove the published copies of a log', { discard: 1 }],
  ]
  for (const [command, description, flags] of simple) {
    program
      .command(`${command} <instance> <log>`)
      .description(description)
      .option('--json', 'print JSON')
      .action((instance: string, name: string, o: Opts) => act(instance, name, flags, o))
  }
  program
    .command('log-publish <instance> <log>')
    .description('Copy what the log got since the last publish to the published copy (a USER log is turned on), passwords taken out')
    .option('--disable', 'turn the log off afterwards')
    .option('--discard', 'remove earlier published copies first')
    .option('--json', 'print JSON')
    .action((instance: string, name: string, o: Opts & { disable?: boolean; discard?: boolean }) =>
      act(instance, name, { publish: 1, ...(o.disable ? { disable: 1 } : {}), ...(o.discard ? { discard: 1 } : {}) }, o))
  program
    .command('log-tail <instance> <log>')
    .description('Publish a log and print its last lines; --follow keeps printing what comes')
    .option('--lines <n>', 'how many lines (0: all)', '50')
    .option('--follow', 'publish and print new lines every second until interrupted')
    .option('--interval <ms>', 'with --follow, how often to look', '1000')
    .action(async (instance: string, name: string, o: { lines: string; follow?: boolean; interval: string }) => {
      if (!/^\d+$/.test(o.lines)) throw new Error('--lines takes a whole number')
      await act(instance, name, { publish: 1 }, { json: true }).catch(() => undefined)
      let { contents, end } = await read(instance, name, Number(o.lines) > 0 ? `?lines=${o.lines}` : '')
      process.stdout.write(contents)
      while (o.follow) {
        await new Promise((r) => setTimeout(r, Number(o.interval) || 1000))
        await client().request('POST', await path(instance), { name, publish: 1 })
        const next = await read(instance, name, `?from=${end}`)
        process.stdout.write(next.contents)
        end = next.end
      }
    })
  program
    .command('log-save <instance> <log>')
    .description('Publish a log and save all of its published copy to a file')
    .option('--file <file>', 'where to save it (default: coffer-<instance>-<log>.log)')
    .action(async (instance: string, name: string, o: { file?: string }) => {
      await client().request('POST', await path(instance), { name, publish: 1 })
      const { contents } = await read(instance, name, '')
      const file = o.file ?? `coffer-${await resolveInstanceId(client(), instance)}-${name}.log`
      await writeFile(file, contents, { mode: 0o600 })
      console.log(`Log "${name}" written to ${file}`)
    })
}
