import net from 'node:net';

/**
 * Ports for the servers the stack, the tests, the chaos run and the benchmarks start are picked below Linux's
 * ephemeral range (32768 and up), which the kernel hands to every outgoing connection as its source port: a port
 * picked there and bound a moment later can have been taken by some connection in between ("address already in
 * use" at a server's start). Below it, only a listener can hold a port, and each is checked free when picked.
 * A port this process handed out is never handed out again (the server it was for may not have bound it yet).
 */
const FIRST = 20_000;
const COUNT = 12_768;
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port nothing listens on right now, between 20000 and 32767, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = FIRST + Math.floor(Math.random() * COUNT);
    if (handedOut.has(candidate) || !(await bindable(candidate))) continue;
    handedOut.add(candidate);
    return candidate;
  }
  throw new Error(`no free TCP port found between ${FIRST} and ${FIRST + COUNT - 1} on 127.0.0.1`);
}
