import { deflateSync } from 'node:zlib';
import { declaredTypeMatches, detectFileType } from './file-type';
import { countPdfPages } from './pdf-info';

describe('detectFileType', () => {
  it.each([
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0], 'image/png'],
    [[0xff, 0xd8, 0xff, 0xe0], 'image/jpeg'],
    [[...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WEBPVP8 ')], 'image/webp'],
    [[...Buffer.from('GIF89a')], 'image/gif'],
    [[...Buffer.from('%PDF-1.7')], 'application/pdf'],
  ])('recognises %j as %s', (bytes, contentType) => {
    expect(detectFileType(Uint8Array.from(bytes))?.contentType).toBe(contentType);
  });

  it.each([
    ['text', Buffer.from('hello.png')],
    ['truncated png', Buffer.from([0x89, 0x50])],
    ['RIFF but not WebP', Buffer.from('RIFF1234WAVE')],
    ['empty', Buffer.alloc(0)],
  ])('rejects %s', (_name, bytes) => expect(detectFileType(bytes)).toBeUndefined());

  it('compares the declared type with the sniffed one', () => {
    const png = detectFileType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))!;
    expect(declaredTypeMatches('image/png', png)).toBe(true);
    expect(declaredTypeMatches('', png)).toBe(true);
    expect(declaredTypeMatches('image/jpeg', png)).toBe(false);
    const jpeg = detectFileType(Buffer.from([0xff, 0xd8, 0xff]))!;
    expect(declaredTypeMatches('image/jpg', jpeg)).toBe(true);
  });
});

describe('countPdfPages', () => {
  it('reads the page tree root count, also from a compressed object stream', () => {
    const plain = Buffer.from(
      '%PDF-1.4\n2 0 obj << /Type /Pages /Kids [5 0 R 6 0 R] /Count 7 >> endobj\n3 0 obj << /Type /Pages /Count 3 >> endobj',
      'latin1',
    );
    expect(countPdfPages(plain)).toBe(7);
    const stream = deflateSync(Buffer.from('<< /Type /Pages /Kids [4 0 R] /Count 12 >>'));
    const compressed = Buffer.concat([
      Buffer.from('%PDF-1.7\n9 0 obj << /Type /ObjStm /Filter /FlateDecode >> stream\n'),
      stream,
      Buffer.from('\nendstream endobj'),
    ]);
    expect(countPdfPages(compressed)).toBe(12);
  });

  it('gives 0 for something that is not a PDF page tree', () => {
    expect(countPdfPages(Buffer.from('%PDF-1.4 garbage'))).toBe(0);
    expect(countPdfPages(Buffer.from('<< /Type /Pages /Count 3 >>'))).toBe(0);
  });
});
