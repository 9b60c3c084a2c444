// A small reader for Nginx configuration: enough to find blocks and directives and assert on
// them, so the checks below say "every location that proxies sets X-Forwarded-For" instead of
// grepping text that a comment could satisfy.
export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly block?: readonly Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let index = 0;
  while (index < text.length) {
    const character = text[index];
    if (/\s/.test(character)) {
      index += 1;
    } else if (character === '#') {
      while (index < text.length && text[index] !== '\n') index += 1;
    } else if (character === '{' || character === '}' || character === ';') {
      tokens.push(character);
      index += 1;
    } else if (character === "'" || character === '"') {
      let end = index + 1;
      while (end < text.length && text[end] !== character) end += text[end] === '\\' ? 2 : 1;
      tokens.push(text.slice(index + 1, end));
      index = end + 1;
    } else {
      let end = index;
      while (end < text.length && !/[\s{};]/.test(text[end])) end += 1;
      tokens.push(text.slice(index, end));
      index = end;
    }
  }
  return tokens;
}

export function parseNginxConf(text: string): Directive[] {
  const tokens = tokenize(text);
  let position = 0;
  const parseBlock = (): Directive[] => {
    const directives: Directive[] = [];
    while (position < tokens.length) {
      const name = tokens[position++];
      if (name === '}') return directives;
      const args: string[] = [];
      while (position < tokens.length && tokens[position] !== ';' && tokens[position] !== '{') {
        args.push(tokens[position++]);
      }
      const terminator = tokens[position++];
      if (terminator === '{') directives.push({ name, args, block: parseBlock() });
      else if (terminator === ';') directives.push({ name, args });
      else throw new Error(`unterminated directive ${name}`);
    }
    return directives;
  };
  return parseBlock();
}

/** Every directive named `name` at any depth (with the chain of enclosing blocks). */
export function findAll(directives: readonly Directive[], name: string): Directive[] {
  const found: Directive[] = [];
  for (const directive of directives) {
    if (directive.name === name) found.push(directive);
    if (directive.block) found.push(...findAll(directive.block, name));
  }
  return found;
}

/** The single directive `name` directly inside `directives`, or undefined. */
export function child(
  directives: readonly Directive[] | undefined,
  name: string,
  firstArg?: string,
): Directive | undefined {
  return directives?.find(
    (directive) =>
      directive.name === name && (firstArg === undefined || directive.args[0] === firstArg),
  );
}

/** Header names a block sets with proxy_set_header, lower-cased. */
export function proxyHeaders(block: readonly Directive[] | undefined): Map<string, string> {
  return new Map(
    (block ?? [])
      .filter((directive) => directive.name === 'proxy_set_header')
      .map((directive) => [directive.args[0].toLowerCase(), directive.args.slice(1).join(' ')]),
  );
}
