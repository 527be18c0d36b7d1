/**
 * Certificates for the relay link's TLS and for NATS, made with the openssl
 * CLI (tests, benches, the native stack): a private CA, a server certificate
 * it signs (names and IPs as subjectAltName), a self-signed one, and the
 * SHA-256 pin of a certificate's public key (what relays put in
 * `relay.tls.pin_sha256`). ECDSA P-256 keys: fast to make, small handshakes.
 */
import { sha256, toHex } from "./bitcoin/mod.ts";
import { exists } from "./fs.ts";

export interface KeyPair {
  cert: string;
  key: string;
}

export interface ServerCertOptions {
  /** DNS names for subjectAltName (default ["localhost"]). */
  names?: string[];
  /** IP addresses for subjectAltName (default ["127.0.0.1"]). */
  ips?: string[];
  /** Validity in days; 0 makes a certificate that expires the second it is made. */
  days?: number;
}

async function openssl(args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A CA certificate and key in dir (`<name>.pem`, `<name>.key`). */
export async function makeCa(dir: string, name = "relay-ca", days = 3650): Promise<KeyPair> {
  return await selfSigned(dir, name, days, [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** A new P-256 key and a self-signed certificate for it with `extensions`. */
async function selfSigned(
  dir: string,
  name: string,
  days: number,
  extensions: string[],
): Promise<KeyPair> {
  const pair = { cert: `${dir}/${name}.pem`, key: `${dir}/${name}.key` };
  await openssl([
    ...["req", "-x509", ...EC_KEY, "-keyout", pair.key, "-out", pair.cert],
    ...["-days", String(days), "-subj", `/CN=${name}`],
    ...extensions.flatMap((e) => ["-addext", e]),
  ]);
  return pair;
}

function altNames(o: ServerCertOptions): string {
  const names = (o.names ?? ["localhost"]).map((n) => `DNS:${n}`);
  const ips = (o.ips ?? ["127.0.0.1"]).map((ip) => `IP:${ip}`);
  return [...names, ...ips].join(",");
}

/** A primary certificate signed by ca (`<name>.pem`, `<name>.key` in dir). */
export async function makeServerCert(
  dir: string,
  ca: KeyPair,
  name = "relay-primary",
  o: ServerCertOptions = {},
): Promise<KeyPair> {
  const pair = { cert: `${dir}/${name}.pem`, key: `${dir}/${name}.key` };
  const csr = `${dir}/${name}.csr`;
  const ext = `${dir}/${name}.ext`;
  await openssl(["req", ...EC_KEY, "-keyout", pair.key, "-out", csr, "-subj", `/CN=${name}`]);
  await Deno.writeTextFile(
    ext,
    `subjectAltName=${altNames(o)}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    String(o.days ?? 825),
    "-extfile",
    ext,
    "-out",
    pair.cert,
  ]);
  await Deno.remove(csr);
  await Deno.remove(ext);
  return pair;
}

/** A self-signed primary certificate (for pin-only trust). */
export async function makeSelfSigned(
  dir: string,
  name = "relay-primary-self",
  o: ServerCertOptions = {},
): Promise<KeyPair> {
  return await selfSigned(dir, name, o.days ?? 825, [`subjectAltName=${altNames(o)}`]);
}

/** Hex SHA-256 of the certificate's SubjectPublicKeyInfo (DER): a `pin_sha256` entry. */
export async function spkiPin(certPath: string): Promise<string> {
  const pub = await openssl(["x509", "-in", certPath, "-pubkey", "-noout"]);
  const der = await openssl(["pkey", "-pubin", "-outform", "DER"], pub);
  return toHex(sha256(der));
}

/** The certificate's notAfter as a Date. */
export async function notAfter(certPath: string): Promise<Date> {
  const out = new TextDecoder().decode(
    await openssl(["x509", "-in", certPath, "-noout", "-enddate"]),
  );
  return new Date(out.trim().replace(/^notAfter=/, ""));
}

/** Where a CA and the server certificate it signs live. */
export interface ServerCerts {
  ca: KeyPair;
  server: KeyPair;
}

const making = new Map<string, Promise<void>>();

/**
 * Makes the CA and the server certificate (localhost, 127.0.0.1) at these
 * paths unless they exist; a server certificate with less than a day left is
 * issued again from the same CA. Concurrent callers share one run.
 */
export function ensureServerCerts(files: ServerCerts): Promise<void> {
  const key = files.server.cert;
  let run = making.get(key);
  if (!run) {
    run = (async () => {
      const dir = files.server.cert.slice(0, files.server.cert.lastIndexOf("/"));
      await Deno.mkdir(dir, { recursive: true });
      const name = (p: string) => p.slice(p.lastIndexOf("/") + 1).replace(/\.pem$/, "");
      let fresh = false;
      if (!exists(files.ca.cert) || !exists(files.ca.key)) {
        await makeCa(dir, name(files.ca.cert));
        fresh = true;
      }
      const serverOk = !fresh && exists(files.server.cert) &&
        (await notAfter(files.server.cert)).getTime() > Date.now() + 86_400_000;
      if (!serverOk) await makeServerCert(dir, files.ca, name(files.server.cert));
    })().finally(() => making.delete(key));
    making.set(key, run);
  }
  return run;
}
