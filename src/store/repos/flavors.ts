import type { Db, FlavorRow } from '../schema.js'

export const listFlavors = (db: Db): Promise<FlavorRow[]> =>
  db.selectFrom('flavors').selectAll().orderBy('ram_mb').orderBy('id').execute()

export const findFlavor = (db: Db, id: string): Promise<FlavorRow | undefined> =>
  db.selectFrom('flavors').selectAll().where('id', '=', id).executeTakeFirst()

export async function insertFlavor(db: Db, flavor: Omit<FlavorRow, 'created_at'>): Promise<void> {
  await db.insertInto('flavors').values({ ...flavor, created_at: new Date().toISOString() }).execute()
}

export async function deleteFlavor(db: Db, id: string): Promise<void> {
  await db.deleteFrom('flavors').where('id', '=', id).execute()
}
