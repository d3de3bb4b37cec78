import { readFile, stat } from 'node:fs/promises';

/**
 * Secrets handed to the admin command come from a file or stdin, never from its arguments (which shell
 * histories, `ps` and audit logs keep). At a terminal they are asked for without echo.
 */

const MAX_INPUT_BYTES = 64 * 1024;

/** One keystroke chunk typed at a hidden prompt: the value so far, and whether Enter or Ctrl-C ended it. */
export function applyKeystrokes(value: string, chunk: string): { value: string; ended?: 'enter' | 'cancel' } {
  let current = value;
  for (const ch of chunk) {
    if (ch === '\r' || ch === '\n' || ch === '\u0004') return { value: current, ended: 'enter' };
    if (ch === '\u0003') return { value: current, ended: 'cancel' };
    if (ch === '\u007f' || ch === '\b') current = current.slice(0, -1);
    else if (ch >= ' ') current += ch;
  }
  return { value: current };
}

/** Asks for one value at the terminal; nothing typed is shown. The prompt goes to stderr, leaving stdout to results. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      const next = applyKeystrokes(value, chunk);
      value = next.value;
      if (!next.ended) return;
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (next.ended === 'cancel') reject(new Error('cancelled'));
      else resolve(value);
    };
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_INPUT_BYTES) throw new Error('stdin is larger than 64 KiB: expected a few lines of credentials');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The text holding the secrets: the file's when a path is given, else what stdin carries (typed at `prompts` with
 * no echo when stdin is a terminal, one value per prompt).
 */
export async function readSecretText(options: { fromFile?: string; prompts: string[] }): Promise<string> {
  if (options.fromFile !== undefined) {
    const info = await stat(options.fromFile);
    if (info.size > MAX_INPUT_BYTES) throw new Error(`${options.fromFile} is larger than 64 KiB`);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
      console.error(
        `warning: ${options.fromFile} can be read by other users of this machine: keep it mode 600, and delete it once connected`,
      );
    return readFile(options.fromFile, 'utf8');
  }
  if (process.stdin.isTTY) {
    const lines: string[] = [];
    for (const prompt of options.prompts) lines.push(await readHidden(prompt));
    return lines.join('\n');
  }
  return readStdin();
}
