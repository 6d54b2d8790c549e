import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { holdsListener } from './port-owner.js'

/** A child process listening on a free port of 127.0.0.1 until it is killed. */
async function listenerChild(): Promise<{ pid: number; port: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  return {
    pid: child.pid!,
    port: Number(line.toString().trim()),
    async kill() {
      child.kill('SIGKILL')
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
    },
  }
}

describe('holdsListener', () => {
  it('is true only for the process whose socket listens on the port', async () => {
    const other = await listenerChild()
    try {
      assert.equal(await holdsListener(other.pid, other.port), true)
      assert.equal(await holdsListener(process.pid, other.port), false, 'this process answers nothing there')
    } finally {
      await other.kill()
    }
    assert.equal(await holdsListener(other.pid, other.port), false, 'gone')
  })

  it('sees a listener of this process, and none on a closed port', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    assert.equal(await holdsListener(process.pid, port), true)
    await new Promise((resolve) => server.close(resolve))
    assert.equal(await holdsListener(process.pid, port), false)
  })
})
