import type { Kysely } from 'kysely'

// Default flavors, small to large (RAM in MB). Ids are strings as in Nova; admins add more.
const FLAVORS = [
  { id: '1', name: 'm1.tiny', ram_mb: 512, vcpus: 1, disk_gb: 1 },
  { id: '2', name: 'm1.small', ram_mb: 2048, vcpus: 1, disk_gb: 20 },
  { id: '3', name: 'm1.medium', ram_mb: 4096, vcpus: 2, disk_gb: 40 },
  { id: '4', name: 'm1.large', ram_mb: 8192, vcpus: 4, disk_gb: 80 },
  { id: '5', name: 'm1.xlarge', ram_mb: 16384, vcpus: 8, disk_gb: 160 },
]

export async function up(db: Kysely<any>): Promise<void> {
  const created_at = new Date().toISOString()
  await db.insertInto('flavors').values(FLAVORS.map((f) => ({ ...f, created_at }))).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('flavors').where('id', 'in', FLAVORS.map((f) => f.id)).execute()
}
