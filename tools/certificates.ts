import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Throwaway PEM files for mTLS on one machine: a CA, a server certificate for the names a local frontend answers
 * on, and a client certificate, all signed by that CA and valid for `days`. Made with `openssl` (present wherever
 * the stack runs), for tests and for a local cluster's frontend; never for production, whose certificates come
 * from the operator's own CA (docs/deploying.md, "Connecting securely").
 */
export interface CertificateFiles {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface CertificateOptions {
  /** DNS names and IP addresses the server certificate is valid for. */
  serverNames?: string[];
  clientName?: string;
  days?: number;
  /**
   * The server certificate may also authenticate as a client: a cluster's services call one another over mTLS
   * with the one certificate each (Temporal's `internode` group), so it must be good for both ends.
   */
  serverIsAlsoClient?: boolean;
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = ca
default_md = sha256
[dn]
CN = SettleFlow throwaway CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

function openssl(dir: string, args: string[]): void {
  // stdio piped, not inherited: openssl reports progress on stderr; a failure throws with that output attached.
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** An unencrypted P-256 key in PKCS#8, the form every TLS stack here reads (Node's, the worker's Rust core). */
function newKey(dir: string, file: string): void {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** A P-256 key and a certificate for `subject`, signed by the CA in `dir` with the extensions given. */
function signedPair(dir: string, name: string, subject: string, extensions: string[], days: number): void {
  newKey(dir, `${name}.key`);
  // The CA's config file, so that no system openssl.cnf is needed; -subj names the subject.
  openssl(dir, [
    'req',
    '-new',
    '-config',
    'ca.cnf',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${subject}`,
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(path.join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    String(days),
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

export function makeCertificates(dir: string, options: CertificateOptions = {}): CertificateFiles {
  const serverNames = options.serverNames ?? ['localhost', '127.0.0.1'];
  const days = options.days ?? 2;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  newKey(dir, 'ca.key');
  // The CA's extensions are given in full (no openssl.cnf is read), so the result is the same on every machine.
  writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-config',
    'ca.cnf',
    '-key',
    'ca.key',
    '-days',
    String(days),
    '-out',
    'ca.pem',
  ]);
  const leaf = (usage: string) => [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${usage}`,
    'authorityKeyIdentifier=keyid',
  ];
  const san = serverNames.map((n) => (IP.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const serverUsage = options.serverIsAlsoClient ? 'serverAuth,clientAuth' : 'serverAuth';
  signedPair(dir, 'server', serverNames[0] ?? 'localhost', [...leaf(serverUsage), `subjectAltName=${san}`], days);
  signedPair(dir, 'client', options.clientName ?? 'settleflow-client', leaf('clientAuth'), days);
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
}
