import { pageCodec } from './page-cache';

describe('pageCodec', () => {
  it('round-trips a page whose body has quotes, backslashes and newlines, byte for byte', () => {
    const page = {
      etag: '"Zm9vYmFyYmF6cXV4cXV1eA"',
      body: '{"items":[{"title":"a \\"quoted\\" title\\nand a line"}],"next":"é ✓"}\n',
    };
    const encoded = pageCodec.encode(page);
    expect(encoded).toBe(`${page.etag}\n${page.body}`);
    expect(pageCodec.decode(encoded)).toEqual(page);
  });

  it('rejects what it did not write (the cache then drops the entry and reloads)', () => {
    expect(() => pageCodec.decode('{"etag":"\\"x\\"","body":"{}"}')).toThrow('not a cached page');
    expect(() => pageCodec.decode('no newline at all')).toThrow('not a cached page');
    expect(() => pageCodec.decode('\n{}')).toThrow('not a cached page');
  });
});
