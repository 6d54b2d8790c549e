/**
 * Who holds a TCP port, engine-agnostic: the proof that what answers on an instance's port is its
 * own engine, and not whatever else took the port (another Coffer home on the machine, any
 * program). A login on the instance's private socket proves which engine that is; the listening
 * socket found among that engine's open files proves the port leads to the same process.
 */
import { readdir, readFile, readlink } from 'node:fs/promises'

/** The inodes of the sockets listening on `port` (any address, IPv4 or IPv6), from /proc/net. */
async function listenerInodes(port: number): Promise<Set<string>> {
  const found = new Set<string>()
  const portHex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const f = line.trim().split(/\s+/)
      // 0A is TCP_LISTEN.
      if (f.length > 9 && f[3] === '0A' && f[1]?.endsWith(`:${portHex}`)) found.add(f[9]!)
    }
  }
  found.delete('0')
  return found
}

/**
 * True when process `pid` itself holds a socket listening on `port`. False when nothing listens
 * there, when another process does, or when the process is gone. Rejects only when the process's
 * open files cannot be read (Coffer runs as root or as the engine's own account, so it can).
 */
export async function holdsListener(pid: number, port: number): Promise<boolean> {
  const inodes = await listenerInodes(port)
  if (inodes.size === 0) return false
  let fds: string[]
  try {
    fds = await readdir(`/proc/${pid}/fd`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    if (inode && inodes.has(inode)) return true
  }
  return false
}
