import net from 'node:net';

/** A TCP port nothing listens on right now (the OS picks it), for the extra processes a test, the chaos run or a benchmark starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A free TCP port below 32768, for a program that stores its port in a signed 16-bit column: the Temporal server's
 * membership table on PostgreSQL keeps each host's membership port as a SMALLINT, so the ephemeral ports the OS
 * hands out (32768 and up on Linux) cannot be written there.
 */
export async function freePortBelow32768(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(candidate, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
  throw new Error('no free TCP port found between 20000 and 32767 on 127.0.0.1');
}
