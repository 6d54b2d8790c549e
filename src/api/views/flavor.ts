import type { FlavorRow } from '../../store/schema.js'
import { links } from '../links.js'

/** Trove's flavor view: `id` is a number when the id is one (as Nova's were), else the text; `str_id` always the text. */
export const flavorView = (base: string, projectId: string, f: FlavorRow) => ({
  id: /^(0|[1-9]\d{0,14})$/.test(f.id) ? Number(f.id) : f.id,
  links: links(base, projectId, `flavors/${f.id}`),
  name: f.name,
  ram: f.ram_mb,
  vcpus: f.vcpus,
  disk: f.disk_gb,
  ephemeral: 0,
  str_id: f.id,
})
