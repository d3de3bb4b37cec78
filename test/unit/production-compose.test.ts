import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { configToEnv, loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../../src/config';
import { PROMETHEUS_VERSION, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../tools/binaries';
import { makeCertificates } from '../../tools/certificates';
import { CLUSTER_DYNAMIC_CONFIG, DEV_SERVER_DYNAMIC_CONFIG, TEMPORAL_DYNAMIC_CONFIG } from '../../tools/servers';
import { NUM_HISTORY_SHARDS } from '../../tools/temporal-cluster';
import {
  type ComposeMount,
  type ComposeService,
  defaultedReferences,
  interpolate,
  publishedPorts,
  readCompose,
} from '../support/compose';
import { scrapeConfigFile } from '../support/observability';

interface ScrapeConfig {
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

/**
 * deploy/compose/docker-compose.yml, the production-shaped compose file (docs/deploying.md), checked by reading it:
 * no Docker engine runs in CI. What a mistake here would cost is a cluster that does not start, or worse one that
 * starts with a setting silently left at its default (no client certificates required, a published database).
 */

const root = path.resolve(__dirname, '..', '..');
const composeDir = path.join(root, 'deploy', 'compose');
const { text: composeText, compose } = readCompose(path.join(composeDir, 'docker-compose.yml'));

/** The Temporal server's services, one compose service each, and the role (SERVICES) each runs. */
const TEMPORAL_ROLES = {
  'temporal-frontend': 'frontend',
  'temporal-history': 'history',
  'temporal-matching': 'matching',
  'temporal-worker': 'worker',
} as const;
const TEMPORAL_SERVICES = Object.keys(TEMPORAL_ROLES) as (keyof typeof TEMPORAL_ROLES)[];
const APP_SERVICES = ['setup', 'worker', 'api'] as const;

/** The image tags of the versions tools/binaries.ts pins for the local cluster (`v1.29.1` there, `1.29.1` here). */
const serverTag = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
const uiTag = TEMPORAL_UI_SERVER_VERSION.replace(/^v/, '');

const VALID_VAULT_KEY = Buffer.alloc(32, 7).toString('base64');
/** What the operator exports before `docker compose up` (the comment at the top of the file). */
const HOST_ENV: Record<string, string> = {
  POSTGRES_USER: 'temporal',
  POSTGRES_PASSWORD: 'beef'.repeat(12),
  MONGO_ROOT_USERNAME: 'settleflow',
  MONGO_ROOT_PASSWORD: 'c0ffee'.repeat(8),
  VAULT_KEY: VALID_VAULT_KEY,
  PUBLIC_BASE_URL: 'https://pay.example.com',
};

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`deploy/compose/docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentOf(name: string): Record<string, string> {
  return service(name).environment ?? {};
}

function interpolated(name: string, host: Record<string, string> = HOST_ENV): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(name)).map(([key, value]) => [key, interpolate(value, host)]));
}

/** The bind mount that puts a file at `target` in the service's container. */
function mountAt(name: string, target: string): ComposeMount | undefined {
  return (service(name).volumes ?? []).find(
    (volume): volume is ComposeMount => typeof volume === 'object' && volume.target === target,
  );
}

/** Values of the service's environment that name a TLS file: the certificates and keys it reads. */
function tlsFilesOf(name: string): [string, string][] {
  return Object.entries(environmentOf(name)).filter(
    ([key, value]) => /^TEMPORAL_TLS_/.test(key) && /\.(pem|key)$/.test(value),
  );
}

/** Where the server's hostname is in `host:port`. */
const hostOf = (address: string) => address.split(':')[0] ?? '';

describe('deploy/compose/docker-compose.yml', () => {
  it.each(['postgres', 'temporal-schema', ...TEMPORAL_SERVICES, 'temporal-ui', 'mongo', ...APP_SERVICES, 'prometheus'])(
    'defines the %s service',
    (name) => {
      expect(compose.services).toHaveProperty([name]);
    },
  );

  describe('images', () => {
    it.each(TEMPORAL_SERVICES)('runs %s on the Temporal server the project pins (tools/binaries.ts)', (name) => {
      expect(service(name).image).toBe(`temporalio/server:${serverTag}`);
    });

    it('runs the Temporal Web UI of the version the project pins', () => {
      expect(service('temporal-ui').image).toBe(`temporalio/ui:${uiTag}`);
    });

    it('prepares the schema with the admin tools of the same server version', () => {
      // Admin tools releases are tagged `<server>-tctl-<version>-cli-<version>`.
      expect(service('temporal-schema').image).toMatch(new RegExp(`^temporalio/admin-tools:${serverTag}(-[\\w.-]+)?$`));
    });

    const pulledImages = Object.entries(compose.services)
      .filter(([, svc]) => svc.build === undefined && svc.pull_policy !== 'never')
      .map(([name, svc]) => [name, svc.image]);
    it.each(pulledImages)('pins the %s image to a tag other than latest (%s)', (_name, image) => {
      expect(image).toMatch(/^[^:]+:(?!latest$)[\w.-]+$/);
    });
  });

  describe.each(TEMPORAL_SERVICES)('the Temporal %s service', (name) => {
    it('runs its own role only', () => {
      expect(environmentOf(name).SERVICES).toBe(TEMPORAL_ROLES[name]);
    });

    it('keeps its data and its visibility on the PostgreSQL service, in the databases the schema job prepares', () => {
      const env = environmentOf(name);
      const schema = environmentOf('temporal-schema');
      expect(env.DB).toBe('postgres12');
      expect(env.POSTGRES_SEEDS).toBe('postgres');
      expect(env.DB_PORT).toBe(schema.SQL_PORT);
      expect(env.POSTGRES_USER).toBe(schema.SQL_USER);
      expect(env.POSTGRES_PWD).toBe(schema.SQL_PASSWORD);
      expect([env.DBNAME, env.VISIBILITY_DBNAME]).toEqual(['temporal', 'temporal_visibility']);
    });

    it('has the history shard count of the cluster profile, at least 16', () => {
      expect(Number(environmentOf(name).NUM_HISTORY_SHARDS)).toBe(NUM_HISTORY_SHARDS);
      expect(NUM_HISTORY_SHARDS).toBeGreaterThanOrEqual(16);
    });

    it('starts only after the schema job has succeeded', () => {
      expect(service(name).depends_on?.['temporal-schema']).toEqual({ condition: 'service_completed_successfully' });
    });

    it('reads the dynamic config file, mounted read-only', () => {
      const mount = mountAt(name, environmentOf(name).DYNAMIC_CONFIG_FILE_PATH ?? '');
      expect(mount).toMatchObject({ type: 'bind', source: './dynamicconfig/settleflow.yaml', read_only: true });
    });

    it('speaks mTLS to the other services, requiring a certificate of every peer', () => {
      const env = environmentOf(name);
      expect(env.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
      expect(env.TEMPORAL_TLS_SERVER_CERT).toBeDefined();
      expect(env.TEMPORAL_TLS_SERVER_KEY).toBeDefined();
      expect(env.TEMPORAL_TLS_SERVER_CA_CERT).toBeDefined();
      expect(env.TEMPORAL_TLS_INTERNODE_SERVER_NAME).toBeTruthy();
    });

    it('finds every certificate and key it names in a read-only mount from ./certs', () => {
      for (const [, file] of tlsFilesOf(name)) {
        expect(mountAt(name, file)).toMatchObject({ type: 'bind', source: `./certs/${path.basename(file)}` });
        expect(mountAt(name, file)?.read_only).toBe(true);
      }
    });
  });

  it('runs each Temporal role in exactly one service', () => {
    const roles = Object.values(compose.services).map((svc) => svc.environment?.SERVICES);
    for (const role of Object.values(TEMPORAL_ROLES)) expect(roles.filter((r) => r === role)).toHaveLength(1);
  });

  describe('the schema job', () => {
    const steps = (service('temporal-schema').command ?? []).join('\n').split('\n').filter(Boolean);

    it.each([
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ])(
      'creates %s, sets its schema up from version 0.0 and updates it from the versioned %s folder',
      (database, folder) => {
        const ofDatabase = steps.filter((step) => step.includes(`--database ${database} `));
        expect(ofDatabase).toEqual([
          `temporal-sql-tool --database ${database} create-database`,
          expect.stringMatching(new RegExp(`--database ${database} setup-schema (--version|-v) 0\\.0$`)),
          `temporal-sql-tool --database ${database} update-schema --schema-dir /etc/temporal/schema/postgresql/v12/${folder}/versioned`,
        ]);
      },
    );

    it('stops at the first failing step, with the PostgreSQL plugin, on the PostgreSQL service', () => {
      expect(service('temporal-schema').entrypoint).toEqual(['/bin/sh', '-ec']);
      const env = environmentOf('temporal-schema');
      expect(env.SQL_PLUGIN).toBe('postgres12');
      expect(env.SQL_HOST).toBe('postgres');
    });

    it('runs once PostgreSQL is healthy, and is not restarted', () => {
      expect(service('temporal-schema').depends_on?.postgres).toEqual({ condition: 'service_healthy' });
      expect(service('temporal-schema').restart).toBe('no');
    });
  });

  describe('the frontend', () => {
    const env = environmentOf('temporal-frontend');

    it('requires a client certificate signed by the CA in certs/ca.pem', () => {
      expect(env.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
      expect(env.TEMPORAL_TLS_FRONTEND_CERT).toBeDefined();
      expect(env.TEMPORAL_TLS_FRONTEND_KEY).toBeDefined();
      expect(mountAt('temporal-frontend', env.TEMPORAL_TLS_CLIENT1_CA_CERT ?? '')?.source).toBe('./certs/ca.pem');
    });

    it("accepts the internode certificate, with which Temporal's internal worker calls it", () => {
      // Both CAs come from the same file: the frontend's client CA signed the internode certificate.
      expect(mountAt('temporal-frontend', env.TEMPORAL_TLS_SERVER_CA_CERT ?? '')?.source).toBe(
        mountAt('temporal-frontend', env.TEMPORAL_TLS_CLIENT1_CA_CERT ?? '')?.source,
      );
    });

    it('is healthy only when it answers over mTLS, checked against its own certificate name', () => {
      const probe = service('temporal-frontend').healthcheck?.test ?? [];
      const flag = (name: string) => probe[probe.indexOf(name) + 1];
      expect(probe.slice(1, 5)).toEqual(['temporal', 'operator', 'cluster', 'health']);
      expect(flag('--tls-cert-path')).toBe(env.TEMPORAL_TLS_SERVER_CERT);
      expect(flag('--tls-key-path')).toBe(env.TEMPORAL_TLS_SERVER_KEY);
      expect(flag('--tls-ca-path')).toBe(env.TEMPORAL_TLS_SERVER_CA_CERT);
      expect(flag('--tls-server-name')).toBe(env.TEMPORAL_TLS_FRONTEND_SERVER_NAME);
    });
  });

  describe('the Temporal Web UI', () => {
    const env = environmentOf('temporal-ui');

    it('talks to the frontend over mTLS with a client certificate of its own, checking the server name', () => {
      expect(hostOf(env.TEMPORAL_ADDRESS ?? '')).toBe('temporal-frontend');
      expect(env.TEMPORAL_TLS_SERVER_NAME).toBe(environmentOf('temporal-frontend').TEMPORAL_TLS_FRONTEND_SERVER_NAME);
      expect(env.TEMPORAL_TLS_ENABLE_HOST_VERIFICATION).toBe('true');
      for (const key of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']) {
        const mount = mountAt('temporal-ui', env[key] ?? '');
        expect(mount?.source).toMatch(/^\.\/certs\//);
        expect(mount?.read_only).toBe(true);
      }
    });

    it('opens on the SettleFlow namespace, once the frontend is healthy', () => {
      expect(env.TEMPORAL_DEFAULT_NAMESPACE).toBe(environmentOf('api').TEMPORAL_NAMESPACE);
      expect(service('temporal-ui').depends_on?.['temporal-frontend']).toEqual({ condition: 'service_healthy' });
    });
  });

  describe.each(APP_SERVICES)('the SettleFlow %s service', (name) => {
    let tmp: string;
    /** The compose folder's certs/ with throwaway files, so that src/config.ts can read what the container reads. */
    let certsDir: string;

    beforeAll(() => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-compose-'));
      const made = makeCertificates(path.join(tmp, 'pki'), { serverNames: ['temporal-frontend'] });
      certsDir = path.join(tmp, 'certs');
      mkdirSync(certsDir);
      copyFileSync(made.ca, path.join(certsDir, 'ca.pem'));
      copyFileSync(made.clientCert, path.join(certsDir, 'settleflow.pem'));
      copyFileSync(made.clientKey, path.join(certsDir, 'settleflow.key'));
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    /** The environment with each mounted file's path replaced by the host file it comes from. */
    function withHostFiles(): Record<string, string> {
      return Object.fromEntries(
        Object.entries(interpolated(name)).map(([key, value]) => {
          const mount = mountAt(name, value);
          return [key, mount ? path.join(certsDir, path.basename(mount.source)) : value];
        }),
      );
    }

    it('runs the image the setup service builds from this repository, never pulled', () => {
      expect(service(name).image).toBe(service('setup').image);
      if (name === 'setup') expect(service(name).build).toEqual({ context: '../..', dockerfile: 'Dockerfile' });
      else expect(service(name).pull_policy).toBe('never');
    });

    it('sets only variables that src/config.ts reads', () => {
      // Tracing's variables are handed on only when set: read with an endpoint, as the file sets one.
      const read = loadConfig({ VAULT_KEY: VALID_VAULT_KEY, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
      const known = [...Object.keys(configToEnv(read)), ...TEMPORAL_CONNECTION_VARIABLES];
      const unknown = Object.keys(environmentOf(name)).filter((key) => !known.includes(key));
      expect(unknown).toEqual([]);
    });

    it('takes VAULT_KEY from the host, refusing to start without one', () => {
      expect(environmentOf(name).VAULT_KEY).toMatch(/^\$\{VAULT_KEY:\?.+\}$/);
    });

    it('logs in to MongoDB with the root user the mongo service creates', () => {
      const url = new URL(interpolated(name).MONGODB_URL ?? '');
      expect(url.hostname).toBe('mongo');
      expect(url.username).toBe(HOST_ENV.MONGO_ROOT_USERNAME);
      expect(url.password).toBe(HOST_ENV.MONGO_ROOT_PASSWORD);
      expect(url.searchParams.get('authSource')).toBe('admin');
    });

    it('reads its client certificate, its key and the CA from read-only mounts of ./certs', () => {
      const files = tlsFilesOf(name);
      expect(files.map(([key]) => key).sort()).toEqual(['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']);
      for (const [, file] of files) {
        expect(mountAt(name, file)).toMatchObject({ type: 'bind', source: `./certs/${path.basename(file)}` });
        expect(mountAt(name, file)?.read_only).toBe(true);
      }
    });

    it('yields a production configuration with mTLS to the frontend, which src/config.ts accepts', () => {
      const config = loadConfig(withHostFiles());
      expect(config.env).toBe('production');
      expect(config.temporal.embedded).toBe(false);
      expect(hostOf(config.temporal.address)).toBe('temporal-frontend');
      expect(config.temporal.namespace).toBe('settleflow');
      expect(config.temporal.tls).toEqual({
        caFile: path.join(certsDir, 'ca.pem'),
        clientCertFile: path.join(certsDir, 'settleflow.pem'),
        clientKeyFile: path.join(certsDir, 'settleflow.key'),
      });
      expect(config.publicBaseUrl).toBe(HOST_ENV.PUBLIC_BASE_URL);
      expect(config.mongo.dbName).toBe('settleflow');
    });

    it("checks the frontend's certificate for the name the frontend presents", () => {
      const env = environmentOf(name);
      const expected = env.TEMPORAL_TLS_SERVER_NAME ?? hostOf(env.TEMPORAL_ADDRESS ?? '');
      expect(expected).toBe(environmentOf('temporal-frontend').TEMPORAL_TLS_FRONTEND_SERVER_NAME);
    });

    it('runs a compiled entry point whose source exists', () => {
      const entry = (service(name).command ?? []).find((arg) => arg.startsWith('dist/'));
      expect(entry).toBeDefined();
      expect(existsSync(path.join(root, entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
    });
  });

  it('gives api, worker and setup the same configuration and files, apart from where the API listens', () => {
    const { HOST, ...api } = environmentOf('api');
    expect(HOST).toBe('0.0.0.0');
    expect(environmentOf('worker')).toEqual(api);
    expect(environmentOf('setup')).toEqual(api);
    expect(service('worker').volumes).toEqual(service('api').volumes);
    expect(service('setup').volumes).toEqual(service('api').volumes);
  });

  it('registers the namespace once the frontend is healthy, and starts the worker and the API after that', () => {
    expect(service('setup').depends_on).toMatchObject({
      'temporal-frontend': { condition: 'service_healthy' },
      mongo: { condition: 'service_healthy' },
    });
    expect(service('setup').command).toEqual(['node', 'dist/src/cli/main.js', 'setup']);
    for (const name of ['worker', 'api'])
      expect(service(name).depends_on?.setup).toEqual({ condition: 'service_completed_successfully' });
  });

  describe('metrics and traces', () => {
    const composePrometheus = parse(readFileSync(path.join(composeDir, 'prometheus.yml'), 'utf8')) as ScrapeConfig;
    const examplePrometheus = parse(readFileSync(scrapeConfigFile, 'utf8')) as ScrapeConfig;
    const targetsOf = (config: ScrapeConfig, job: string) =>
      config.scrape_configs.find((scrape) => scrape.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];
    /** What src/config.ts makes of the app services' environment (the certificates do not matter here). */
    const appConfig = (host = HOST_ENV) =>
      loadConfig({ ...interpolated('worker', host), TEMPORAL_TLS_CA: '', TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' });

    it("scrapes with the example configuration's job names, which the alerts and the dashboard use", () => {
      const jobs = (config: ScrapeConfig) => config.scrape_configs.map((scrape) => scrape.job_name);
      expect(jobs(composePrometheus)).toEqual(jobs(examplePrometheus));
    });

    it('scrapes the API and the worker at the ports src/config.ts gives them, listening beyond loopback', () => {
      const { metrics } = appConfig();
      expect(metrics.host).toBe('0.0.0.0');
      expect(targetsOf(composePrometheus, 'settleflow-api')).toEqual([`api:${metrics.apiPort}`]);
      expect(targetsOf(composePrometheus, 'settleflow-worker')).toEqual([`worker:${metrics.workerPort}`]);
      expect(targetsOf(composePrometheus, 'settleflow-worker-sdk')).toEqual([`worker:${metrics.sdkPort}`]);
    });

    it('scrapes every Temporal service at the metrics endpoint it is given', () => {
      const expected = TEMPORAL_SERVICES.map((name) => {
        const endpoint = environmentOf(name).PROMETHEUS_ENDPOINT ?? '';
        expect(endpoint).toMatch(/^0\.0\.0\.0:\d+$/);
        return `${name}:${endpoint.split(':')[1]}`;
      });
      expect(targetsOf(composePrometheus, 'temporal')).toEqual(expected);
    });

    it("runs the Prometheus the project builds its tools from, with its config and deploy/observability's rules mounted side by side", () => {
      const prometheus = service('prometheus');
      expect(prometheus.image).toBe(`prom/prometheus:${PROMETHEUS_VERSION.replace(/^v0\.(\d)(\d\d)\./, 'v$1.$2.')}`);
      const configFile = (prometheus.command ?? []).find((arg) => arg.startsWith('--config.file='))?.split('=')[1];
      expect(mountAt('prometheus', configFile ?? '')).toMatchObject({ source: './prometheus.yml', read_only: true });
      const rules = composePrometheus.rule_files.map((file) => path.posix.join(path.posix.dirname(configFile!), file));
      expect(rules.map((target) => mountAt('prometheus', target))).toEqual([
        { type: 'bind', source: '../observability/alerts.yml', target: rules[0], read_only: true },
      ]);
    });

    it('traces only when the host gives an OTLP endpoint', () => {
      expect(environmentOf('worker').OTEL_EXPORTER_OTLP_ENDPOINT).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-}');
      expect(appConfig().tracing.enabled).toBe(false);
      const traced = appConfig({ ...HOST_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
      expect(traced.tracing.enabled).toBe(true);
    });
  });

  it('publishes only the API, the UI and Prometheus, on loopback', () => {
    const published = Object.entries(compose.services).flatMap(([name, svc]) =>
      publishedPorts(svc).map((port) => ({ name, ...port })),
    );
    expect(published).toEqual([
      { name: 'temporal-ui', hostIp: '127.0.0.1', published: 8233, target: 8080 },
      { name: 'api', hostIp: '127.0.0.1', published: 3000, target: 3000 },
      { name: 'prometheus', hostIp: '127.0.0.1', published: 9090, target: 9090 },
    ]);
    expect(Object.values(compose.services).filter((svc) => svc.network_mode !== undefined)).toEqual([]);
  });

  describe('secrets', () => {
    const everyEnvironment = Object.entries(compose.services).flatMap(([name, svc]) =>
      Object.entries(svc.environment ?? {}).map(([key, value]) => ({ name, key, value })),
    );

    it('takes every password and key from the host, as a whole reference that refuses to start when unset', () => {
      const secrets = everyEnvironment.filter(({ key }) => /PASSWORD|PWD|SECRET|VAULT_KEY$|API_KEY/.test(key));
      expect(secrets.length).toBeGreaterThan(0);
      for (const { value } of secrets) expect(value).toMatch(/^\$\{\w+:\?[^}]+\}$/);
    });

    it('puts no credential in a connection string but references to the host', () => {
      for (const { value } of everyEnvironment.filter(({ key }) => key === 'MONGODB_URL')) {
        const url = new URL(value.replace(/\$\{(\w+):\?[^}]*\}/g, '$1'));
        expect([url.username, url.password]).toEqual(['MONGO_ROOT_USERNAME', 'MONGO_ROOT_PASSWORD']);
      }
    });

    it('gives no variable a non-empty default', () => {
      expect(defaultedReferences(composeText)).toEqual([]);
    });

    it.each(Object.keys(HOST_ENV))('refuses to start without %s', (variable) => {
      const host = Object.fromEntries(Object.entries(HOST_ENV).filter(([key]) => key !== variable));
      const attempt = () => Object.keys(compose.services).forEach((name) => interpolated(name, host));
      expect(attempt).toThrow(`${variable} unset`);
    });
  });

  describe('the dynamic config', () => {
    const dynamicConfig = parse(
      readFileSync(path.join(composeDir, 'dynamicconfig', 'settleflow.yaml'), 'utf8'),
    ) as Record<string, { value: unknown }[]>;
    /** Turned on by the local cluster profile only: Temporal's description of it says not in production. */
    const LOCAL_ONLY = 'system.forceSearchAttributesCacheRefreshOnRead';

    it('holds the settings of the local stacks (TEMPORAL_DYNAMIC_CONFIG), with their values', () => {
      const expected = Object.fromEntries(
        Object.entries(TEMPORAL_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value }]]),
      );
      expect(dynamicConfig).toEqual(expected);
    });

    it('leaves the forced search attribute refresh to the local stacks', () => {
      expect(TEMPORAL_DYNAMIC_CONFIG).not.toHaveProperty([LOCAL_ONLY]);
      expect(CLUSTER_DYNAMIC_CONFIG).toHaveProperty([LOCAL_ONLY], true);
      expect(DEV_SERVER_DYNAMIC_CONFIG).toHaveProperty([LOCAL_ONLY], false);
      expect(dynamicConfig).not.toHaveProperty([LOCAL_ONLY]);
    });
  });

  it('parses every YAML fragment of docs/deploying.md (Helm values, Kubernetes objects), so none is copied out broken', () => {
    const deploying = readFileSync(path.join(root, 'docs', 'deploying.md'), 'utf8');
    const blocks = [...deploying.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map(([, body]) => body ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const block of blocks)
      for (const document of parseAllDocuments(block))
        expect(document.errors.map((error) => error.message)).toEqual([]);
  });

  it('is described in docs/deploying.md, down to each certificate file it mounts, and linked from the README', () => {
    const deploying = readFileSync(path.join(root, 'docs', 'deploying.md'), 'utf8');
    const mounted = new Set(
      Object.values(compose.services)
        .flatMap((svc) => svc.volumes ?? [])
        .filter((volume): volume is ComposeMount => typeof volume === 'object')
        .map((volume) => volume.source)
        .filter((source) => source.startsWith('./certs/')),
    );
    expect(mounted.size).toBeGreaterThan(0);
    const undocumented = [...mounted]
      .map((source) => path.basename(source))
      .filter((file) => !deploying.includes(file));
    expect(undocumented).toEqual([]);
    expect(deploying).toContain('deploy/compose/docker-compose.yml');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('deploy/compose/docker-compose.yml');
  });
});
