/** The ObjectStore a process uses, from its settings: the one place the driver is chosen (called by the composition root). */
import type { ObjectStoreSettings } from './object-store-settings.js'
import { FsObjectStore } from './fs/fs-object-store.js'
import type { ObjectStore } from './object-store.js'
import { S3ObjectStore } from './s3/s3-object-store.js'

export async function openObjectStore(s: ObjectStoreSettings): Promise<ObjectStore> {
  if (s.kind === 'fs') return new FsObjectStore(s.root)
  const store = new S3ObjectStore(s)
  await store.ensureBucket()
  return store
}
