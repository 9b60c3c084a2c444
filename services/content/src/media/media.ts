/** One stored rendition, as kept in the `variants` JSON column. */
export interface StoredVariant {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly storageKey: string;
}

export function originalKey(mediaId: string): string {
  return `${mediaId}/original`;
}

export function variantKey(mediaId: string, name: string): string {
  return `${mediaId}/${name}.webp`;
}

export function parseVariants(value: unknown): StoredVariant[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is StoredVariant =>
      typeof item === 'object' &&
      item !== null &&
      typeof (item as StoredVariant).name === 'string' &&
      typeof (item as StoredVariant).storageKey === 'string',
  );
}
