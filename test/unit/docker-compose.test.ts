import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configToEnv, loadConfig } from '../../src/config';
import { type ComposeService, defaultedReferences, interpolate, publishedPorts, readCompose } from '../support/compose';

/**
 * No Docker engine runs in CI, so docker-compose.yml and the Dockerfile are checked by reading them: a
 * misspelled variable or a stale path would otherwise surface only on a Docker user's machine, as a setting
 * silently left at its loopback default.
 */

const root = path.resolve(__dirname, '..', '..');

const { text: composeText, compose } = readCompose(path.join(root, 'docker-compose.yml'));
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

const APP_SERVICES = ['setup', 'worker', 'api'] as const;
const VALID_VAULT_KEY = Buffer.alloc(32, 7).toString('base64');
/** What a Docker user exports before `docker compose up` (the comment at the top of docker-compose.yml). */
const HOST_ENV: Record<string, string> = {
  VAULT_KEY: VALID_VAULT_KEY,
  MONGO_ROOT_USERNAME: 'settleflow',
  MONGO_ROOT_PASSWORD: 'c0ffee'.repeat(8),
};

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentOf(name: string): Record<string, string> {
  return service(name).environment ?? {};
}

/** The environment as the container would see it once the host's variables (HOST_ENV) have been interpolated. */
function interpolated(name: string, host: Record<string, string> = HOST_ENV): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(name)).map(([key, value]) => [key, interpolate(value, host)]));
}

/** `node dist/x/y.js` runs what tsc compiled from `x/y.ts` (outDir dist, rootDir the repository). */
function sourceOf(compiled: string): string {
  return compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** Empty when the compiled file has a source to be compiled from; otherwise names the missing source. */
function missingSource(compiled: string): string[] {
  const source = sourceOf(compiled);
  return existsSync(path.join(root, source)) ? [] : [source];
}

/** An instruction's argument in the Dockerfile's last stage, the image that is run. */
function finalStageInstruction(instruction: 'CMD' | 'USER' | 'HEALTHCHECK'): string | undefined {
  const finalStage = dockerfile.split(/^FROM\s/m).at(-1) ?? '';
  return finalStage.match(new RegExp(`^${instruction}\\s+(.+)$`, 'm'))?.[1]?.trim();
}

describe('docker-compose.yml', () => {
  it.each(['temporal', 'temporal-ui', 'mongo', 'setup', 'worker', 'api'])('defines the %s service', (name) => {
    expect(compose.services).toHaveProperty([name]);
  });

  it.each([
    { name: 'api', published: 3000, target: 3000 },
    { name: 'temporal-ui', published: 8233, target: 8080 },
  ])('publishes $name on host port $published', ({ name, published, target }) => {
    expect(publishedPorts(service(name))).toContainEqual({ hostIp: '127.0.0.1', published, target });
  });

  const pulledImages = Object.entries(compose.services)
    .filter(([, svc]) => svc.build === undefined && svc.pull_policy !== 'never')
    .map(([name, svc]) => [name, svc.image]);
  it.each(pulledImages)('pins the %s image to a tag other than latest (%s)', (_name, image) => {
    expect(image).toMatch(/^[^:]+:(?!latest$)[\w.-]+$/);
  });

  it('builds the image of this repository once, with its Dockerfile, in the setup service', () => {
    const builders = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined);
    expect(builders.map(([name]) => name)).toEqual(['setup']);
    expect(service('setup').build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
  });

  describe.each(APP_SERVICES)('the %s service', (name) => {
    it('runs the image the setup service builds, never pulled', () => {
      expect(service(name).image).toBe(service('setup').image);
      if (name !== 'setup') expect(service(name).pull_policy).toBe('never');
    });

    it('sets only variables that src/config.ts reads', () => {
      const known = Object.keys(configToEnv(loadConfig({ VAULT_KEY: VALID_VAULT_KEY })));
      const unknown = Object.keys(environmentOf(name)).filter((key) => !known.includes(key));
      expect(unknown).toEqual([]);
    });

    it('takes VAULT_KEY from the host, refusing to start without one', () => {
      expect(environmentOf(name).VAULT_KEY).toMatch(/^\$\{VAULT_KEY:\?.+\}$/);
    });

    it('logs in to MongoDB with the root user the mongo service creates, and refuses to start without one', () => {
      const url = new URL(interpolated(name).MONGODB_URL ?? '');
      expect(url.username).toBe(HOST_ENV.MONGO_ROOT_USERNAME);
      expect(url.password).toBe(HOST_ENV.MONGO_ROOT_PASSWORD);
      // The root user lives in the admin database, not in MONGODB_DB.
      expect(url.searchParams.get('authSource')).toBe('admin');
      for (const unset of ['MONGO_ROOT_USERNAME', 'MONGO_ROOT_PASSWORD']) {
        const host = Object.fromEntries(Object.entries(HOST_ENV).filter(([key]) => key !== unset));
        expect(() => interpolated(name, host)).toThrow(`${unset} unset`);
      }
    });

    it('yields a production configuration aimed at the compose services', () => {
      const config = loadConfig(interpolated(name));
      expect(config.env).toBe('production');
      expect(config.temporal.address).toBe('temporal:7233');
      expect(config.temporal.namespace).toBe('settleflow');
      expect(new URL(config.mongo.url).hostname).toBe('mongo');
      expect(config.mongo.dbName).toBe('settleflow');
    });

    it('reaches Temporal and MongoDB through services that exist', () => {
      const env = interpolated(name);
      const temporalHost = (env.TEMPORAL_ADDRESS ?? '').split(':')[0] ?? '';
      const mongoHost = new URL(env.MONGODB_URL ?? 'mongodb://unset').hostname;
      expect(Object.keys(compose.services)).toEqual(expect.arrayContaining([temporalHost, mongoHost]));
    });

    it('runs a compiled entry point whose source exists', () => {
      const entry = (service(name).command ?? []).find((arg) => arg.startsWith('dist/'));
      expect(entry).toBeDefined();
      expect(missingSource(entry!)).toEqual([]);
    });
  });

  it('gives api, worker and setup the same configuration, apart from where the API listens', () => {
    const { HOST, ...api } = environmentOf('api');
    expect(HOST).toBe('0.0.0.0');
    expect(environmentOf('worker')).toEqual(api);
    expect(environmentOf('setup')).toEqual(api);
    expect(loadConfig(interpolated('api')).host).toBe('0.0.0.0');
  });

  it('runs MongoDB with authentication on: a root user from the host, required, never a default', () => {
    const env = environmentOf('mongo');
    // The image's entrypoint starts mongod with --auth once a root user is given.
    expect(env.MONGO_INITDB_ROOT_USERNAME).toMatch(/^\$\{MONGO_ROOT_USERNAME:\?.+\}$/);
    expect(env.MONGO_INITDB_ROOT_PASSWORD).toMatch(/^\$\{MONGO_ROOT_PASSWORD:\?.+\}$/);
    expect(service('mongo').command ?? []).not.toContain('--noauth');
  });

  it('gives no variable a non-empty default: a committed credential would protect nothing', () => {
    expect(defaultedReferences(composeText)).toEqual([]);
  });

  it('starts the worker and the API only after setup has succeeded', () => {
    for (const name of ['worker', 'api']) {
      expect(service(name).depends_on?.setup).toEqual({ condition: 'service_completed_successfully' });
    }
  });

  it('probes the API for readiness on its configured port', () => {
    const probe = service('api').healthcheck?.test?.join(' ') ?? '';
    const { port } = loadConfig(interpolated('api'));
    expect(probe).toContain(`127.0.0.1:${port}/ready`);
  });
});

describe('Dockerfile', () => {
  it('runs the API by default, from a compiled file whose source exists', () => {
    const cmd = JSON.parse(finalStageInstruction('CMD') ?? '[]') as string[];
    expect(cmd).toEqual(['node', 'dist/src/main.js']);
    expect(missingSource(cmd[1]!)).toEqual([]);
  });

  it('runs as a non-root user', () => {
    expect(finalStageInstruction('USER')).toMatch(/^(?!root$|0$|0:)\S+$/);
  });

  it('runs on Node 22 LTS, and checks the API is alive on /health; the worker turns that check off', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-/m);
    expect(finalStageInstruction('HEALTHCHECK')).toMatch(/--interval=\S+ .*\\$/);
    expect(dockerfile).toContain("/health'");
    expect(service('worker').healthcheck).toEqual({ disable: true });
  });
});
