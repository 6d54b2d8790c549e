import { randomUUID } from 'node:crypto'

/** Keystone's id form: 32 hex digits. */
export const newId = (): string => randomUUID().replaceAll('-', '')
