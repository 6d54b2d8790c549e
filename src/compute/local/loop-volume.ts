/**
 * A volume that is a file system of its own: a sparse ext4 image under the instance's folder,
 * loop-mounted at its volume folder (nodev, nosuid, noexec). The engine cannot write past its size:
 * it gets ENOSPC, which it reports as its own error, and the host's disk is untouched. Growing is
 * online: the image is lengthened, the loop device told, and resize2fs run on the mounted file
 * system. Every operation is idempotent, so a step killed half-way is simply run again.
 */
import { execFile } from 'node:child_process'
import { access, chmod, chown, lstat, readFile, rename, rm, rmdir, stat, truncate, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { EnvelopeOwner } from '../compute-driver.js'

const run = promisify(execFile)
const GB = 2 ** 30

export const MOUNT_OPTIONS = 'loop,nodev,nosuid,noexec'

let usable: Promise<boolean> | undefined
/** True where loop-mounted volumes can be made: root, the tools present and a loop device free. */
export function loopVolumesUsable(): Promise<boolean> {
  usable ??= (async () => {
    if (process.getuid?.() !== 0) return false
    try {
      await Promise.all(['/sbin/losetup', '/sbin/mkfs.ext4', '/sbin/resize2fs'].map((t) => access(t)))
      await run('losetup', ['-f'])
      return true
    } catch {
      return false
    }
  })()
  return usable
}

/** Mount points from /proc/self/mountinfo, with their sources (`/dev/loop3`). */
export async function mounts(): Promise<Map<string, string>> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'))
}

/** mountinfo fields: id parent major:minor root mount-point options ... - fstype source superoptions. */
export function parseMountinfo(text: string): Map<string, string> {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    const dash = f.indexOf('-')
    if (f.length < 5 || dash < 0) continue
    out.set(unescape(f[4]!), unescape(f[dash + 2] ?? ''))
  }
  return out
}

export const isMounted = async (dir: string): Promise<boolean> => (await mounts()).has(dir)

/**
 * Makes the image (if missing) and mounts it at `dir` (if not mounted), with the file system's
 * root given to `owner`, 0700. An image appears complete or not at all (made under another name).
 */
export async function mountLoopVolume(image: string, dir: string, sizeGb: number, owner: EnvelopeOwner): Promise<void> {
  if (!(await lstat(image).catch(() => undefined))) {
    const partial = `${image}.partial`
    await rm(partial, { force: true })
    await writeFile(partial, '', { mode: 0o600 })
    await truncate(partial, sizeGb * GB)
    // -m 0: no blocks kept for root (the engine is never root); lazy init keeps mkfs to tens of ms.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', `lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=${owner.uid}:${owner.gid}`, partial])
    await rename(partial, image)
  }
  await chmod(image, 0o600)
  if (!(await isMounted(dir))) await run('mount', ['-o', MOUNT_OPTIONS, image, dir])
  // Direct I/O from the loop device to its image: buffered, every write was cached twice (the
  // volume's file system and the image's) and written back through both, two to three times slower
  // (a restore unpacking 0.5 GiB: 5.6-7.4 s against 1.1-1.9 s). A host whose file system refuses
  // O_DIRECT keeps the buffered device.
  for (const dev of await loopDevicesOf(image)) await run('losetup', ['--direct-io=on', dev]).catch(() => undefined)
  // An engine's data folder is made below the root; lost+found is mkfs's and nobody's business.
  await rmdir(`${dir}/lost+found`).catch(() => undefined)
  await chown(dir, owner.uid, owner.gid)
  await chmod(dir, 0o700)
}

/** The loop devices that hold `image` (normally one; none when it is not attached). */
export async function loopDevicesOf(image: string): Promise<string[]> {
  const { stdout } = await run('losetup', ['-j', image]).catch(() => ({ stdout: '' }))
  return stdout.split('\n').flatMap((l) => (l.includes(':') ? [l.slice(0, l.indexOf(':'))] : []))
}

/**
 * Unmounts `dir` and detaches every loop device of `image`. Idempotent: nothing mounted and nothing
 * attached is fine. The engine must have stopped; a mount still busy is detached lazily (it goes
 * with its last open file) rather than left.
 */
export async function unmountLoopVolume(image: string, dir: string): Promise<void> {
  if (await isMounted(dir)) {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]))
  }
  for (const dev of await loopDevicesOf(image)) await run('losetup', ['-d', dev]).catch(() => undefined)
}

/** Size of the image in whole GB (what the volume was made or grown to); undefined without one. */
export async function imageSizeGb(image: string): Promise<number | undefined> {
  const st = await stat(image).catch(() => undefined)
  return st ? Math.floor(st.size / GB) : undefined
}

/**
 * Grows the mounted volume to `sizeGb` online: lengthens the image, has the loop device re-read its
 * size and resize2fs fill it. Never shrinks. Run again after a crash it finishes what was begun.
 */
export async function growLoopVolume(image: string, dir: string, sizeGb: number): Promise<'grown' | 'offline-needed'> {
  const st = await stat(image)
  if (st.size < sizeGb * GB) await truncate(image, sizeGb * GB)
  const dev = (await mounts()).get(dir)
  if (!dev?.startsWith('/dev/loop')) throw new Error(`volume ${dir} is not loop-mounted`)
  await run('losetup', ['-c', dev])
  try {
    await run('resize2fs', [dev], { timeout: 600_000 })
    return 'grown'
  } catch (err) {
    // Online resizing needs CAP_SYS_RESOURCE, which containers often drop; unmounted needs none.
    if (/Permission denied|Operation not permitted/.test(String((err as { stderr?: string }).stderr))) return 'offline-needed'
    throw err
  }
}

/** Grows the image's file system while it is not mounted; the caller stops its engine and remounts. */
export async function growUnmounted(image: string, dir: string, sizeGb: number): Promise<void> {
  await unmountLoopVolume(image, dir)
  const st = await stat(image)
  if (st.size < sizeGb * GB) await truncate(image, sizeGb * GB)
  // resize2fs wants a freshly checked file system; -p repairs only what is safe without asking.
  await run('e2fsck', ['-f', '-p', image], { timeout: 600_000 }).catch((err: { code?: unknown }) => {
    // 1 and 2: errors found and corrected (free counts a mounted file system keeps in memory).
    if (err.code !== 1 && err.code !== 2) throw err
  })
  await run('resize2fs', [image], { timeout: 600_000 })
}
