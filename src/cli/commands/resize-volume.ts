/** `coffer resize-volume INSTANCE SIZE`: grows an instance's volume, as `trove resize-volume` does. */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { resolveInstanceId } from '../resolve.js'

export function resizeVolumeCommand(program: Command, client: () => CofferClient): void {
  program
    .command('resize-volume <instance> <size>')
    .description('Grow an instance\'s volume to SIZE GB, online (the engine keeps running); it never shrinks')
    .option('--wait', 'wait until the instance is ACTIVE with the new size (exit 1 if it ends in ERROR)')
    .action(async (instance: string, size: string, o: { wait?: boolean }) => {
      const c = client()
      const id = await resolveInstanceId(c, instance)
      const gb = Number(size)
      await c.request('POST', `/instances/${id}/action`, { resize: { volume: { size: Number.isInteger(gb) ? gb : size } } })
      if (!o.wait) return void console.log(`Resizing the volume of instance ${id} to ${size} GB.`)
      const started = Date.now()
      for (let pause = 20; ; pause = Math.min(500, pause * 2)) {
        const { instance: i } = await c.request('GET', `/instances/${id}`)
        if (i.status !== 'RESIZE') {
          console.log(`${id}: ${i.status}, volume ${i.volume.size} GB (${((Date.now() - started) / 1000).toFixed(1)} s)`)
          if (i.status !== 'ACTIVE' || i.volume.size !== gb) process.exitCode = 1
          return
        }
        await new Promise((r) => setTimeout(r, pause))
      }
    })
}
