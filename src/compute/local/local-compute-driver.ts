import { execFile } from 'node:child_process'
import { chmod, chown, lstat, mkdir, readdir, statfs } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { AddressPool } from '../../core/address-pool.js'
import type { ComputeDriver, Envelope, EnvelopeOptions, EnvelopeOwner, EnvelopePaths, NodeLimits, VolumeSpace } from '../compute-driver.js'
import { engineGroup, ensureInstanceAccount, findInstanceAccount, isRoot, removeInstanceAccount, removeStrayAccounts } from './accounts.js'
import { type FlavorLimits, InstanceCgroups } from './cgroups.js'
import { growLoopVolume, growUnmounted, imageSizeGb, isMounted, loopVolumesUsable, mountLoopVolume, unmountLoopVolume } from './loop-volume.js'
import { measureTree, mountedUse, removeTree, VolumeMeter } from './volume-trees.js'
import { addressIsFree, attachAddress, detachAddress } from './addresses.js'

const run = promisify(execFile)
const ID = /^[0-9a-f-]{36}$/

export interface LocalComputeOptions {
  /**
   * How old a walked volume's figure may get before it is measured again (default 0: at every
   * read); a volume that is its own mount is read by statfs at every read.
   */
  readonly volumeMeasureMs?: number
  /** Loop-mounted ext4 volumes where the host allows them (default true); false: plain folders. */
  readonly loopVolumes?: boolean
  /** Flavor limits through cgroups where they are writable (default true). */
  readonly cgroups?: boolean
  /** Where cgroup file systems are mounted (tests point it elsewhere). */
  readonly cgroupRoot?: string
  /** Where instances' own addresses come from; absent, they share the node's address. */
  readonly pool?: AddressPool
}

/**
 * Instances live in `<home>/instances/<id>/{volume,run,guest}` (and `volume.img`, the image
 * mounted at `volume/` where loop devices can be used); templates in `<home>/cache`.
 */
export class LocalComputeDriver implements ComputeDriver {
  readonly #home: string
  readonly #root: string
  readonly #pool: AddressPool | undefined
  readonly #traversable = new Set<string>()
  /** Instances whose folder this process has made private (see #keepToItsOwner). */
  readonly #private = new Set<string>()
  readonly #tightened = new Set<string>()
  readonly cacheDir: string
  readonly #volumes: VolumeMeter
  readonly #cgroups: InstanceCgroups | undefined
  readonly #loop: boolean
  /** Loop volumes this process has seen mounted (checked once, then kept). */
  readonly #mounted = new Set<string>()

  constructor(home: string, _bind: string, options: LocalComputeOptions = {}) {
    const pool = options.pool
    this.#cgroups = options.cgroups === false ? undefined : new InstanceCgroups(options.cgroupRoot)
    this.#loop = options.loopVolumes !== false
    this.#volumes = new VolumeMeter(measureTree, { mounted: mountedUse, ...(options.volumeMeasureMs === undefined ? {} : { refreshMs: options.volumeMeasureMs }) })
    this.#home = resolve(home)
    this.#root = join(resolve(home), 'instances')
    this.cacheDir = join(resolve(home), 'cache')
    this.#pool = pool
  }

  paths(instanceId: string): EnvelopePaths {
    // An id is always a UUID we made; refusing anything else keeps a path from escaping the root.
    if (!ID.test(instanceId)) throw new Error(`not an instance id: ${instanceId}`)
    const dir = join(this.#root, instanceId)
    return { volumeDir: join(dir, 'volume'), runDir: join(dir, 'run'), guestDir: join(dir, 'guest') }
  }

  #image(instanceId: string): string {
    return join(dirname(this.paths(instanceId).volumeDir), 'volume.img')
  }

  async createEnvelope(instanceId: string, options: EnvelopeOptions = {}): Promise<Envelope> {
    const p = this.paths(instanceId)
    const account = await ensureInstanceAccount(instanceId, this.#home)
    await this.#unlisted(this.#root)
    if (isRoot()) await this.#letThrough(`g:${await engineGroup()}`, this.#root)
    await mkdir(dirname(p.volumeDir), { recursive: true, mode: 0o700 })
    await this.#keepToItsOwner(instanceId, account)
    for (const dir of [p.volumeDir, p.runDir]) {
      await mkdir(dir, { recursive: true })
      await chown(dir, account.uid, account.gid)
      await chmod(dir, 0o700)
    }
    if (options.volumeGb && this.#loop && (await loopVolumesUsable())) {
      await mountLoopVolume(this.#image(instanceId), p.volumeDir, options.volumeGb, account)
      this.#mounted.add(instanceId)
    }
    await mkdir(p.guestDir, { recursive: true, mode: 0o700 })
    await mkdir(this.cacheDir, { recursive: true, mode: 0o700 })
    return { ...p, account }
  }

  async listEnvelopes(): Promise<string[]> {
    return (await readdir(this.#root).catch(() => [] as string[])).filter((n) => ID.test(n))
  }

  async envelope(instanceId: string): Promise<Envelope | undefined> {
    const p = this.paths(instanceId)
    const account = await findInstanceAccount(instanceId)
    if (!account || !(await lstat(p.volumeDir).catch(() => undefined))) return undefined
    await this.#remount(instanceId, account)
    if (!this.#private.has(instanceId)) {
      await this.#unlisted(this.#root)
      await this.#keepToItsOwner(instanceId, account)
    }
    return { ...p, account }
  }

  /**
   * An instance's folder (`<root>/<id>`, which also holds the guest's secrets) is 0700 to Coffer,
   * and only the instance's own account may pass through it (an ACL, `--x`) to its volume and run
   * folders: no engine can list the instances or enter another's folder. A folder made by an older
   * Coffer (0755) is tightened the first time this process sees it.
   */
  async #keepToItsOwner(instanceId: string, account: EnvelopeOwner): Promise<void> {
    const dir = dirname(this.paths(instanceId).volumeDir)
    // With the ACL in place the group bits show its mask, --x; without accounts there is no ACL.
    const wanted = isRoot() && account.uid !== process.getuid?.() ? 0o010 : 0
    if (((await lstat(dir)).mode & 0o077) !== wanted) {
      await chmod(dir, 0o700)
      if (isRoot() && account.uid !== process.getuid?.()) await run('setfacl', ['-m', `u:${account.uid}:x`, dir])
    }
    this.#private.add(instanceId)
  }

  async prepareCache(owner: EnvelopeOwner): Promise<string> {
    await this.#unlisted(this.cacheDir)
    if (isRoot() && owner.uid !== 0) await this.#letThrough(`u:${owner.uid}`, this.cacheDir)
    return this.cacheDir
  }

  /**
   * A loop volume whose mount is gone (the host rebooted) is mounted again the first time this
   * process looks at the instance, which is before any engine of it is started.
   */
  async #remount(instanceId: string, account: EnvelopeOwner): Promise<void> {
    if (this.#mounted.has(instanceId)) return
    const image = this.#image(instanceId)
    const size = await imageSizeGb(image)
    if (size === undefined) return
    const dir = this.paths(instanceId).volumeDir
    if (!(await isMounted(dir))) await mountLoopVolume(image, dir, size, account)
    this.#mounted.add(instanceId)
  }

  async growVolume(instanceId: string, sizeGb: number, whileStopped: (work: () => Promise<void>) => Promise<void>): Promise<void> {
    const envelope = await this.envelope(instanceId)
    if (!envelope) throw new Error(`instance ${instanceId} has no envelope here`)
    const image = this.#image(instanceId)
    // A folder has no size of its own to grow: its watchdog reads the new size from the instance.
    if ((await imageSizeGb(image)) === undefined) return
    if ((await growLoopVolume(image, envelope.volumeDir, sizeGb)) === 'grown') return
    await whileStopped(async () => {
      this.#mounted.delete(instanceId)
      await growUnmounted(image, envelope.volumeDir, sizeGb)
      await this.#remount(instanceId, envelope.account)
    })
  }

  async volumeSpace(instanceId: string): Promise<VolumeSpace> {
    const dir = this.paths(instanceId).volumeDir
    if (!this.#mounted.has(instanceId)) return { type: 'folder' }
    const fs = await statfs(dir).catch(() => undefined)
    return fs ? { type: 'ext4-loop', totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize } : { type: 'ext4-loop' }
  }

  async applyLimits(instanceId: string, flavor: FlavorLimits): Promise<readonly string[]> {
    return (await this.#cgroups?.apply(instanceId, flavor)) ?? []
  }

  async limits(): Promise<NodeLimits> {
    const cgroups = await this.#cgroups?.mode()
    return { memory: cgroups ?? 'none', cpu: cgroups ?? 'none', volume: this.#loop && (await loopVolumesUsable()) ? 'ext4-loop' : 'folder' }
  }

  async destroyEnvelope(instanceId: string): Promise<void> {
    this.#private.delete(instanceId)
    this.#volumes.forget(instanceId)
    this.#mounted.delete(instanceId)
    await unmountLoopVolume(this.#image(instanceId), this.paths(instanceId).volumeDir)
    await this.#cgroups?.remove(instanceId)
    await removeTree(dirname(this.paths(instanceId).volumeDir))
    await removeInstanceAccount(instanceId)
  }

  /**
   * Removes the OS accounts this home made for instances whose folder is gone (a test or a crash
   * killed Coffer between making the account and the folder, or during a delete). Returns their ids.
   */
  removeStrayAccounts(): Promise<string[]> {
    return removeStrayAccounts(this.#home, (id) => lstat(dirname(this.paths(id).volumeDir)).then(() => true, () => false))
  }

  /** The last measure, refreshed in the background: a heartbeat never waits for a large volume's walk. */
  async volumeUsedBytes(instanceId: string): Promise<number> {
    return this.#volumes.usedBytes(instanceId, this.paths(instanceId).volumeDir)
  }

  addressIsFree(address: string, port: number): Promise<boolean> {
    return addressIsFree(address, port, this.#pool)
  }

  attachAddress(address: string): Promise<void> {
    return attachAddress(address, this.#pool)
  }

  detachAddress(address: string): Promise<void> {
    return detachAddress(address, this.#pool)
  }

  /** Makes `dir` (0700), or takes read from group and others on one an older Coffer made 0755. */
  async #unlisted(dir: string): Promise<void> {
    if (this.#tightened.has(dir)) return
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const st = await lstat(dir)
    if (st.mode & 0o044) await chmod(dir, st.mode & 0o7711)
    this.#tightened.add(dir)
  }

  /**
   * Engines run as their own account, which must be able to reach its folders below the home
   * folder (often under /root, mode 0700). Grant that account traverse-only access (`--x`) on each
   * ancestor with an ACL, falling back to o+x where ACLs are not available. Nothing is made readable.
   */
  async #letThrough(who: `u:${number}` | `g:${number}`, dir: string): Promise<void> {
    if (this.#traversable.has(`${who}:${dir}`)) return
    await mkdir(dir, { recursive: true })
    for (let d = resolve(dir); d !== dirname(d); d = dirname(d)) {
      const st = await lstat(d)
      if (st.mode & 0o001) continue
      try {
        await run('setfacl', ['-m', `${who}:x`, d])
      } catch {
        await chmod(d, (st.mode & 0o7777) | 0o001)
      }
    }
    this.#traversable.add(`${who}:${dir}`)
  }
}
