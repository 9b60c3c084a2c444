/** A type this service accepts, recognised from the first bytes of a file. */
export interface DetectedType {
  readonly kind: 'image' | 'pdf';
  readonly contentType: 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif' | 'application/pdf';
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, index) => bytes[offset + index] === byte);
}

const ascii = (text: string): number[] => [...text].map((character) => character.charCodeAt(0));

/**
 * Magic-byte sniffing for the five accepted types. The file name and the declared type are never
 * trusted: a ".png" that is not a PNG is caught here. Returns undefined for anything else.
 */
export function detectFileType(bytes: Uint8Array): DetectedType | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'image', contentType: 'image/png' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: 'image', contentType: 'image/jpeg' };
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8))
    return { kind: 'image', contentType: 'image/webp' };
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a')))
    return { kind: 'image', contentType: 'image/gif' };
  if (startsWith(bytes, ascii('%PDF-'))) return { kind: 'pdf', contentType: 'application/pdf' };
  return undefined;
}

/** Whether the client's declared type agrees with the sniffed one (`image/jpg` is a common alias). */
export function declaredTypeMatches(declared: string, detected: DetectedType): boolean {
  const normalised = declared.split(';')[0].trim().toLowerCase();
  if (normalised === '' || normalised === 'application/octet-stream') return true;
  if (normalised === 'image/jpg' || normalised === 'image/pjpeg')
    return detected.contentType === 'image/jpeg';
  return normalised === detected.contentType;
}
