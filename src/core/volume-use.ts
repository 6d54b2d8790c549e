/**
 * What an instance's volume use says to its user: how full it is and, from 90%, a warning in the
 * instance's own words. Not an ERROR: the engine still runs and answers reads; at 100% it refuses
 * writes that need space with its own error (PostgreSQL's "could not extend file", MariaDB's
 * "table is full", Redis's failed background save), which is what a client sees.
 */
export const VOLUME_WARNING_PERCENT = 90

export interface VolumeUseInputs {
  readonly sizeGb: number
  readonly usedBytes: number | null
  /** Free bytes where the volume is its own file system; else the size less what is used. */
  readonly freeBytes: number | null
  readonly type: string | null
}

export interface VolumeUseView {
  readonly used?: number
  readonly used_percent?: number
  readonly type?: string
  readonly warning?: string
}

const GB = 1024 ** 3
const round = (n: number): number => Math.round(n * 100) / 100

export function volumeUse(v: VolumeUseInputs): VolumeUseView {
  if (v.usedBytes === null) return v.type ? { type: v.type } : {}
  const used = v.usedBytes / GB
  // A file system of its own loses some of its size to metadata: full is when nothing is free.
  const percent = v.freeBytes === null ? (100 * used) / v.sizeGb : (100 * v.usedBytes) / Math.max(1, v.usedBytes + v.freeBytes)
  const warning =
    percent >= 99.5 || (v.freeBytes !== null && v.freeBytes < 16 * 2 ** 20)
      ? `The volume is full (${v.sizeGb} GB): the database refuses writes that need more space. Delete data or resize the volume.`
      : percent >= VOLUME_WARNING_PERCENT
        ? `The volume is ${Math.floor(percent)}% full (${v.sizeGb} GB). Resize it before it fills up.`
        : undefined
  return { used: round(used), used_percent: round(Math.min(100, percent)), ...(v.type ? { type: v.type } : {}), ...(warning ? { warning } : {}) }
}
