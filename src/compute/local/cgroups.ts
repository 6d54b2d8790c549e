/**
 * Flavor limits through cgroups: each instance's engine processes run in a cgroup of their own
 * (`coffer/<instance id>`) whose memory limit is the flavor's RAM and whose CPU quota is its vCPUs.
 * Works on cgroup v1 (one hierarchy per controller, as on this kind of host) and v2 (one unified
 * hierarchy); where neither is writable (not root, a read-only mount), nothing is limited and the
 * node says so.
 */
import { access, mkdir, readFile, realpath, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export type CgroupMode = 'cgroup-v1' | 'cgroup-v2'

export interface FlavorLimits {
  readonly ramMb: number
  readonly vcpus: number
}

/** CFS period; the quota is `vcpus` periods per period. */
const PERIOD_US = 100_000

/** The values written for a flavor, by file name (relative to the controller's cgroup folder). */
export function limitFiles(mode: CgroupMode, f: FlavorLimits): { memory: [string, string][]; cpu: [string, string][] } {
  const bytes = String(f.ramMb * 2 ** 20)
  const vcpus = Math.max(1, f.vcpus)
  if (mode === 'cgroup-v1') {
    return {
      memory: [['memory.limit_in_bytes', bytes]],
      cpu: [
        ['cpu.cfs_period_us', String(PERIOD_US)],
        ['cpu.cfs_quota_us', String(vcpus * PERIOD_US)],
        ['cpu.shares', String(1024 * vcpus)],
      ],
    }
  }
  return {
    memory: [['memory.max', bytes]],
    cpu: [
      ['cpu.max', `${vcpus * PERIOD_US} ${PERIOD_US}`],
      ['cpu.weight', String(Math.min(10_000, 100 * vcpus))],
    ],
  }
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false)

export class InstanceCgroups {
  readonly #root: string
  readonly #prefix: string
  #mode: Promise<CgroupMode | undefined> | undefined

  constructor(root = '/sys/fs/cgroup', prefix = 'coffer') {
    this.#root = root
    this.#prefix = prefix
  }

  /** Which cgroups this host lets Coffer write; undefined when none (then nothing is limited). */
  mode(): Promise<CgroupMode | undefined> {
    this.#mode ??= this.#detect()
    return this.#mode
  }

  /** The `cgroup.procs` files a process joins to come under the instance's limits; [] without cgroups. */
  async procsFiles(instanceId: string): Promise<string[]> {
    const mode = await this.mode()
    if (!mode) return []
    return (await this.#dirs(mode, instanceId)).map((d) => join(d, 'cgroup.procs'))
  }

  /**
   * Makes the instance's cgroup (idempotent) and writes the flavor's limits into it; resolves with
   * the `cgroup.procs` files to join. Called before each engine start, so a new flavor is taken
   * then. Without writable cgroups, resolves [] and limits nothing.
   */
  async apply(instanceId: string, flavor: FlavorLimits): Promise<string[]> {
    const mode = await this.mode()
    if (!mode || flavor.ramMb <= 0) return []
    const [memDir, cpuDir] = await this.#dirs(mode, instanceId)
    if (mode === 'cgroup-v2') await this.#enableControllers()
    await mkdir(memDir!, { recursive: true })
    if (cpuDir !== memDir) await mkdir(cpuDir!, { recursive: true })
    const files = limitFiles(mode, flavor)
    await this.#writeMemory(mode, memDir!, files.memory)
    for (const [name, value] of files.cpu) await writeFile(join(cpuDir!, name), value).catch(() => undefined)
    return this.procsFiles(instanceId)
  }

  /** What the instance's engine may use now, from its memory cgroup; undefined without one. */
  async memoryLimitBytes(instanceId: string): Promise<number | undefined> {
    const mode = await this.mode()
    if (!mode) return undefined
    const [memDir] = await this.#dirs(mode, instanceId)
    const text = await readFile(join(memDir!, mode === 'cgroup-v1' ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8').catch(() => undefined)
    return text === undefined || text.trim() === 'max' ? undefined : Number(text)
  }

  /** Removes the instance's cgroups; its processes must have exited. Idempotent. */
  async remove(instanceId: string): Promise<void> {
    const mode = await this.mode()
    if (!mode) return
    for (const dir of new Set(await this.#dirs(mode, instanceId))) {
      // An exited process leaves its cgroup a moment after it is reaped.
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir)
          break
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT') break
          if (code !== 'EBUSY' || attempt >= 50) throw err
          await sleep(20)
        }
      }
    }
  }

  /**
   * A memory limit that swap could get around is no limit: swap is held at the limit too on v1
   * (memsw), 0 on v2. v1 refuses a memory limit above memsw (EINVAL), so a raise writes memsw first.
   */
  async #writeMemory(mode: CgroupMode, memDir: string, files: readonly [string, string][]): Promise<void> {
    const bytes = files[0]![1]
    if (mode === 'cgroup-v2') {
      for (const [name, value] of files) await writeFile(join(memDir, name), value)
      await writeFile(join(memDir, 'memory.swap.max'), '0').catch(() => undefined)
      return
    }
    const memsw = join(memDir, 'memory.memsw.limit_in_bytes')
    const withSwap = await exists(memsw)
    if (withSwap) await writeFile(memsw, bytes).catch(() => undefined)
    await writeFile(join(memDir, 'memory.limit_in_bytes'), bytes)
    // Lowering, memsw could not go below the old memory limit until that was lowered.
    if (withSwap) await writeFile(memsw, bytes)
  }

  async #dirs(mode: CgroupMode, instanceId: string): Promise<string[]> {
    if (mode === 'cgroup-v2') return [join(this.#root, this.#prefix, instanceId)]
    return [join(this.#root, 'memory', this.#prefix, instanceId), join(await this.#cpuRoot(), this.#prefix, instanceId)]
  }

  #cpu: string | undefined
  /** v1's cpu controller is mounted alone (`cpu`) or with cpuacct (`cpu,cpuacct`, often linked as `cpu`). */
  async #cpuRoot(): Promise<string> {
    this.#cpu ??= await realpath(join(this.#root, 'cpu')).catch(() => join(this.#root, 'cpu,cpuacct'))
    return this.#cpu
  }

  async #enableControllers(): Promise<void> {
    for (const dir of [this.#root, join(this.#root, this.#prefix)]) {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +cpu').catch(() => writeFile(join(dir, 'cgroup.subtree_control'), '+memory'))
    }
  }

  async #detect(): Promise<CgroupMode | undefined> {
    if (process.getuid?.() !== 0) return undefined
    try {
      if (await exists(join(this.#root, 'cgroup.controllers'))) {
        const controllers = await readFile(join(this.#root, 'cgroup.controllers'), 'utf8')
        if (!/\bmemory\b/.test(controllers)) return undefined
        await this.#enableControllers()
        return 'cgroup-v2'
      }
      if (await exists(join(this.#root, 'memory', 'memory.limit_in_bytes'))) {
        await mkdir(join(this.#root, 'memory', this.#prefix), { recursive: true })
        await mkdir(join(await this.#cpuRoot(), this.#prefix), { recursive: true }).catch(() => undefined)
        return 'cgroup-v1'
      }
    } catch {
      // A read-only cgroup file system: nothing can be limited here.
    }
    return undefined
  }
}
