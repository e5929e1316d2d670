// The seed's program on Node: unjwt's h3 v2 playground (its "refresh token pattern"), with the
// keys and lifetimes from the environment so that it shares sessions with examples/seed/app.py.
//
//   POST /login    a valid access session (or an expired one the onExpire hook re-issues from the
//                  refresh session) answers the current state; otherwise JSON
//                  {username, password} creates both sessions.
//   GET /profile   the access session's subject and scope (401 without one), and
//   POST /logout   clears both sessions: these two routes are the playground's pattern as unjwt's
//                  documentation page "Refresh token pattern" completes it.
//
// Environment: SEED_ACCESS_KEY (JSON {privateKey, publicKey}, RS256), SEED_REFRESH_PASSWORD,
// SEED_ACCESS_MAX_AGE (seconds, default 900), SEED_REFRESH_MAX_AGE (seconds, default 7 days).
// Listens on 127.0.0.1 (a free port) and prints {"port": N}; exits when stdin closes.
import { createServer } from "node:http";

import { H3, HTTPError } from "h3";
import { toNodeHandler } from "h3/node";
import { getJWESession, updateJWSSession, useJWESession, useJWSSession } from "unjwt/adapters/h3v2";

const jweOptions = {
  key: process.env.SEED_REFRESH_PASSWORD,
  name: "refresh_token",
  maxAge: Number(process.env.SEED_REFRESH_MAX_AGE ?? 7 * 24 * 60 * 60),
};

const jwsOptions = {
  key: JSON.parse(process.env.SEED_ACCESS_KEY),
  name: "access_token",
  maxAge: Number(process.env.SEED_ACCESS_MAX_AGE ?? 15 * 60),
  hooks: {
    async onExpire({ event, config }) {
      const refreshSession = await getJWESession(event, jweOptions);
      if (!refreshSession.data.sub) return; // no valid refresh session, nothing to do
      await updateJWSSession(event, config, {
        sub: refreshSession.data.sub,
        scope: refreshSession.data.scope,
      });
    },
  },
};

const describe = (session) => ({
  id: session.id,
  createdAt: session.createdAt,
  expiresAt: session.expiresAt,
  data: session.data,
});

const app = new H3();

app.post("/login", async (event) => {
  const refreshSession = await useJWESession(event, jweOptions);
  const accessSession = await useJWSSession(event, jwsOptions);

  if (accessSession.data.sub) {
    // already logged in: return the existing state
    return { accessToken: describe(accessSession), refreshSession: describe(refreshSession) };
  }

  const data = await event.req.json().catch(() => ({}));
  if (!data.username || !data.password) {
    throw new HTTPError("Username and password are required", { status: 400 });
  }
  const claims = { sub: data.username, scope: ["read:profile"] };
  await accessSession.update(claims);
  await refreshSession.update(claims);
  return { accessToken: describe(accessSession), refreshSession: describe(refreshSession) };
});

app.get("/profile", async (event) => {
  const accessSession = await useJWSSession(event, jwsOptions);

  if (!accessSession.data.sub) {
    throw new HTTPError("Not authenticated", { status: 401 });
  }

  return { userId: accessSession.data.sub, scope: accessSession.data.scope };
});

app.post("/logout", async (event) => {
  const refreshSession = await useJWESession(event, jweOptions);
  const accessSession = await useJWSSession(event, jwsOptions);

  await accessSession.clear();
  await refreshSession.clear();

  return { ok: true };
});

const server = createServer(toNodeHandler(app));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
