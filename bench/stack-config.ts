import { type Config, loadConfig } from '../src/config';
import { freePort } from '../tools/ports';

/** A bench stack's config: free ports and a data dir of its own, the environment's settings otherwise. */
export async function benchStackConfig(dataDir: string, env: Record<string, string> = {}): Promise<Config> {
  const [apiPort, temporalPort, uiPort, ferretPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  return loadConfig({
    ...process.env,
    PORT: String(apiPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    FERRETDB_PORT: String(ferretPort),
    DATA_DIR: dataDir,
    ...env,
  });
}
