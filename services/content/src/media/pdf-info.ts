import { inflateSync } from 'node:zlib';

/**
 * Page count of a PDF without a PDF library: the page tree's root is a `/Type /Pages` dictionary
 * whose `/Count` is the number of leaf pages, and every intermediate node has a smaller count, so
 * the largest `/Count` of a `/Pages` node is the page count. PDF 1.5+ files may keep those
 * dictionaries inside compressed object streams, so Flate streams are inflated and searched too.
 * Returns 0 when no page tree is found (the caller treats that as a corrupt PDF).
 */
export function countPdfPages(bytes: Buffer): number {
  const text = bytes.toString('latin1');
  if (!text.startsWith('%PDF-')) return 0;
  let best = maxPagesCount(text);
  if (best > 0) return best;
  const streamPattern = /stream\r?\n/g;
  let match: RegExpExecArray | null;
  while ((match = streamPattern.exec(text)) !== null) {
    const start = match.index + match[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const inflated = inflateSync(bytes.subarray(start, end)).toString('latin1');
      best = Math.max(best, maxPagesCount(inflated));
    } catch {
      // Not a Flate stream (images, fonts…): nothing to find there.
    }
    streamPattern.lastIndex = end;
  }
  return best;
}

function maxPagesCount(text: string): number {
  let best = 0;
  const pagesPattern = /\/Type\s*\/Pages\b/g;
  let match: RegExpExecArray | null;
  while ((match = pagesPattern.exec(text)) !== null) {
    const open = text.lastIndexOf('<<', match.index);
    const close = text.indexOf('>>', match.index);
    const dictionary = text.slice(open < 0 ? match.index : open, close < 0 ? undefined : close);
    const count = /\/Count\s+(\d{1,7})/.exec(dictionary);
    if (count) best = Math.max(best, Number(count[1]));
  }
  return best;
}
