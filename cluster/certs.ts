// Generates the PKI of a throwaway control plane with openssl: one CA, a serving certificate for the API
// server, an admin client certificate (O=system:masters) used by every component and by tests, the front
// proxy client certificate (aggregated APIs), and the service-account signing key pair.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './build.js';

const run = promisify(execFile);

export interface ControlPlaneCerts {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Client cert the API server presents to aggregated API servers (front proxy). */
  proxyClientCert: string;
  proxyClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const SERVER_SANS = [
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  'IP:127.0.0.1',
  'IP:10.0.0.1',
];

/** Extensions every leaf certificate carries; each adds its extended key usage. */
const LEAF_EXTENSIONS = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed in ${dir}: ${e.stderr ?? e.message}`);
  }
}

async function signedCert(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions.join('\n') + '\n');
  await openssl(dir, [
    'req',
    '-new',
    '-nodes',
    '-newkey',
    'rsa:2048',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '365',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** The self-signed CA every other certificate is signed by, as ca.crt and ca.key. */
async function createCa(dir: string): Promise<{ caCert: string; caKey: string }> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-newkey',
    'rsa:2048',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '3650',
    '-sha256',
    '-subj',
    '/CN=beastmode-e2e-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { caCert, caKey };
}

/** The key pair the API server signs service-account tokens with (and verifies them by). */
async function createServiceAccountKeys(
  dir: string,
): Promise<{ serviceAccountKey: string; serviceAccountPub: string }> {
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await openssl(dir, [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    serviceAccountKey,
  ]);
  await openssl(dir, ['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return { serviceAccountKey, serviceAccountPub };
}

/** Writes a fresh PKI into dir (which must exist). Throws an actionable error when openssl is missing. */
export async function generateCerts(dir: string): Promise<ControlPlaneCerts> {
  requireTool(
    'openssl',
    'the local control plane generates its certificates with openssl',
    'Install it (Debian/Ubuntu: apt-get install openssl)',
  );
  const ca = await createCa(dir);
  const [server, admin, proxyClient, serviceAccount] = await Promise.all([
    signedCert(dir, 'apiserver', '/CN=kube-apiserver', [
      ...LEAF_EXTENSIONS,
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${SERVER_SANS.join(',')}`,
    ]),
    signedCert(dir, 'admin', '/O=system:masters/CN=beastmode-admin', [
      ...LEAF_EXTENSIONS,
      'extendedKeyUsage=clientAuth',
    ]),
    signedCert(dir, 'front-proxy-client', '/CN=front-proxy-client', [
      ...LEAF_EXTENSIONS,
      'extendedKeyUsage=clientAuth',
    ]),
    createServiceAccountKeys(dir),
  ]);
  return {
    ...ca,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    proxyClientCert: proxyClient.cert,
    proxyClientKey: proxyClient.key,
    ...serviceAccount,
  };
}

/**
 * A serving certificate for DNS names under a fresh CA of its own, in `dir` (which must exist): tls.crt,
 * tls.key and ca.crt, the layout of a kubernetes.io/tls Secret plus its CA (an APIService's caBundle).
 * Resolves with the three files' paths.
 */
export async function servingCertificate(
  dir: string,
  dnsNames: readonly string[],
): Promise<{ cert: string; key: string; caCert: string }> {
  const ca = await createCa(dir);
  const served = await signedCert(dir, 'tls', `/CN=${dnsNames[0] ?? 'localhost'}`, [
    ...LEAF_EXTENSIONS,
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`,
  ]);
  return { cert: served.cert, key: served.key, caCert: ca.caCert };
}
