// The Node side of the interop tests: an h3 v2 app using unjwt's h3 v2 session adapter.
//
// Started by tests/interop/conftest.py with `node server.mjs` (cwd: .interop-cache, where npm
// installed unjwt and h3). It listens on 127.0.0.1, on a free port, and prints one JSON line
// `{"port": N}` on stdout once it accepts connections.
//
// Sessions (the adapter, exactly as an application uses it):
//   PUT  /config/:id        body {kind: "jws"|"jwe", config}: register a session config
//                           (`config` goes to useJWSSession/useJWESession as it is)
//   GET  /session/:id       read the session
//   POST /session/:id       body {data}: session.update(data)
//   POST /session/:id/clear session.clear()
//   GET  /jwks/:id          the public JWK Set of a JWS config keyed by a pair, as a Nuxt server
//                           route publishes it (`Cache-Control: public, max-age=300`)
// Each answers {session: {id, createdAt, expiresAt, data, token}, error?} (`error`: the message
// an onError/onExpire hook saw while reading, if any).
//
// Keys and tokens (unjwt's core, for the key-compatibility tests):
//   POST /jose/generate     body {alg}: generateJWK(alg) plus exportPEM of each half
//   POST /jose/use          body {kind, alg, key, pem?, claims, token?}: import the key (and the
//                           PEM halves) as they are, make a token of `claims`, and open `token`
import { createServer } from "node:http";

import { H3, HTTPError } from "h3";
import { toNodeHandler } from "h3/node";
import {
  exportPEM,
  generateJWK,
  importPEM,
  useJWESession,
  useJWSSession,
} from "unjwt/adapters/h3v2";
import { decrypt, encrypt } from "unjwt/jwe";
import { sign, verify } from "unjwt/jws";

const configs = new Map();
const app = new H3();

function describe(session) {
  return {
    id: session.id,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
    data: session.data,
    token: session.token,
  };
}

function withErrorHooks(config) {
  // Record read failures in the request context so the test sees why a token was refused.
  const record = ({ event, error }) => {
    event.context.sessionError = String(error?.message ?? error);
  };
  return { ...config, hooks: { ...config.hooks, onError: record, onExpire: record } };
}

function registered(event) {
  const entry = configs.get(event.context.params.id);
  if (!entry) throw new HTTPError(`unknown config ${event.context.params.id}`, { status: 404 });
  return entry;
}

async function use(event) {
  const { kind, config } = registered(event);
  return kind === "jws" ? useJWSSession(event, config) : useJWESession(event, config);
}

function answer(event, session) {
  return { session: describe(session), error: event.context.sessionError };
}

app.put("/config/:id", async (event) => {
  const { kind, config } = await event.req.json();
  if (kind !== "jws" && kind !== "jwe") throw new HTTPError("kind must be jws or jwe", { status: 400 });
  configs.set(event.context.params.id, { kind, config: withErrorHooks(config) });
  return { ok: true };
});

app.get("/session/:id", async (event) => answer(event, await use(event)));

app.post("/session/:id", async (event) => {
  const { data } = await event.req.json();
  const session = await use(event);
  await session.update(data);
  return answer(event, session);
});

app.post("/session/:id/clear", async (event) => {
  const session = await use(event);
  await session.clear();
  return { session: {}, error: event.context.sessionError };
});

app.get("/jwks/:id", (event) => {
  const { kind, config } = registered(event);
  const publicKey = config.key?.publicKey;
  if (kind !== "jws" || !publicKey) throw new HTTPError("not a JWS config with a key pair", { status: 404 });
  event.res.headers.set("cache-control", "public, max-age=300");
  return { keys: Array.isArray(publicKey) ? publicKey : [publicKey] };
});

// ------------------------------------------------------------------------------ keys and tokens

const isPair = (key) => key && typeof key === "object" && "privateKey" in key;
// A content cipher as a JWK's alg means "dir" with that cipher.
const CONTENT = new Set(["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]);

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: `${error?.code ?? error?.name}: ${error?.message ?? error}` };
  }
}

async function makeToken(kind, alg, key, claims) {
  if (kind === "jws") return sign(claims, isPair(key) ? key.privateKey : key);
  const options = CONTENT.has(alg) ? { alg: "dir", enc: alg } : {};
  return encrypt(claims, isPair(key) ? key.publicKey : key, options);
}

async function openToken(kind, key, token) {
  if (kind === "jws") return (await verify(token, isPair(key) ? key.publicKey : key)).payload;
  return (await decrypt(token, isPair(key) ? key.privateKey : key)).payload;
}

app.post("/jose/generate", async (event) => {
  const { alg } = await event.req.json();
  const key = await generateJWK(alg);
  const pem = isPair(key)
    ? { privateKey: await exportPEM(key.privateKey), publicKey: await exportPEM(key.publicKey) }
    : undefined;
  return { key, pem };
});

app.post("/jose/use", async (event) => {
  const { kind, alg, key, pem, claims, token } = await event.req.json();
  const result = {
    token: await attempt(() => makeToken(kind, alg, key, claims)),
    payload: token ? await attempt(() => openToken(kind, key, token)) : undefined,
  };
  if (pem) {
    // the PEM halves, imported with importPEM, must work like the JWKs
    const fromPem = await attempt(async () => ({
      privateKey: await importPEM(pem.privateKey, alg),
      publicKey: await importPEM(pem.publicKey, alg),
    }));
    result.pemToken = fromPem.ok ? await attempt(() => makeToken(kind, alg, fromPem.value, claims)) : fromPem;
    if (token) {
      result.pemPayload = fromPem.ok ? await attempt(() => openToken(kind, fromPem.value, token)) : fromPem;
    }
  }
  return result;
});

const server = createServer(toNodeHandler(app));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
// Exit with the test run: pytest closes our stdin (or dies) when it is done.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
