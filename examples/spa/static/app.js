// The single-page app: plain fetch(), no build step. Both sessions live in cookies that the
// browser sends by itself; the page only reads the access session's expiry to show a countdown.
"use strict";

const ACCESS_COOKIE = "spa_access";
const REFRESH_COOKIE = "spa_refresh"; // HttpOnly itself; only its "-csrf" companion is readable
const AUTO_REFRESH_DELAY_MS = 300; // after expiresAt, so the browser has dropped the cookie

const $ = (id) => document.getElementById(id);
const state = { expiresAt: null, autoRefreshedFor: null, busy: false };

function log(message) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()}  ${message}`;
  const list = $("event-log");
  list.prepend(item);
  while (list.children.length > 12) list.lastElementChild.remove();
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (method !== "GET") {
    // CSRF protection (csrf=True on the server): echo one readable "-csrf" cookie in a header
    // that another site's page could neither read nor send. One token proves every session cookie
    // of the request (a logout sending the refresh one also revokes the access session). The
    // refresh one comes first: it outlives the access cookie, so a request sent just as the access
    // session lapses (the server then re-issues it from the refresh session) still carries a token
    // the server accepts.
    const csrf = readCookie(`${REFRESH_COOKIE}-csrf`) || readCookie(`${ACCESS_COOKIE}-csrf`);
    if (csrf) init.headers["x-csrf-token"] = csrf;
  }
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, ok: response.ok, statusText: response.statusText, data };
}

// -- the access cookie (a JWS: header.payload.signature, possibly chunked) -------------------

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function accessClaims() {
  let token = readCookie(ACCESS_COOKIE);
  if (token && token.startsWith("__chunked__")) {
    const count = Number(token.slice("__chunked__".length));
    const parts = [];
    for (let i = 1; i <= count; i++) parts.push(readCookie(`${ACCESS_COOKIE}.${i}`) || "");
    token = parts.join("");
  }
  if (!token) return null;
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload + "=".repeat((4 - (payload.length % 4)) % 4)));
  } catch {
    return null;
  }
}

// -- rendering ---------------------------------------------------------------------------------

function showLoggedIn(me) {
  document.body.dataset.state = "logged-in";
  $("login-section").classList.add("hidden");
  $("session-section").classList.remove("hidden");
  $("devices-section").classList.remove("hidden");
  $("user-name").textContent = me.name || me.user;
  $("user-id").textContent = me.user;
  state.expiresAt = me.expiresAt;
  const claims = accessClaims();
  $("access-claims").textContent = claims ? JSON.stringify(claims, null, 2) : "(no access cookie)";
  tick();
}

function showLoggedOut() {
  document.body.dataset.state = "logged-out";
  state.expiresAt = null;
  $("session-section").classList.add("hidden");
  $("devices-section").classList.add("hidden");
  $("device-list").replaceChildren();
  $("login-section").classList.remove("hidden");
  $("countdown").textContent = "";
  $("access-claims").textContent = "(none)";
}

function showApiResult(result) {
  const status = $("api-status");
  status.dataset.status = String(result.status);
  status.className = result.ok ? "ok" : "error";
  status.textContent = `${result.status} ${result.ok ? "OK" : result.statusText || "error"}`.trim();
  $("api-result").textContent = JSON.stringify(result.data, null, 2);
}

// -- actions -------------------------------------------------------------------------------

async function callMe(reason) {
  const result = await api("GET", "/api/me");
  if (reason !== "startup") showApiResult(result);
  if (result.ok) {
    if (result.data.refreshed) log(`${reason}: access session re-issued from the refresh session`);
    else if (reason !== "startup") log(`${reason}: guarded call succeeded`);
    showLoggedIn(result.data);
    await loadDevices();
  } else {
    if (reason !== "startup") log(`${reason}: guarded call failed with ${result.status}`);
    showLoggedOut();
  }
  return result;
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const result = await api("POST", "/api/login", {
    username: $("username").value,
    password: $("password").value,
  });
  if (result.ok) {
    $("password").value = "";
    log(`logged in as ${result.data.user}`);
    showLoggedIn(result.data);
    await loadDevices();
  } else {
    $("login-error").textContent = (result.data && result.data.detail) || `login failed (${result.status})`;
  }
}

async function logout() {
  const result = await api("POST", "/api/logout");
  log(result.ok ? "logged out" : `logout failed with ${result.status}`);
  showLoggedOut();
}

// -- your devices (GET /api/sessions, DELETE /api/sessions/{id}, POST /api/sessions/revoke-others)

function deviceItem(device) {
  const item = document.createElement("li");
  item.dataset.deviceId = device.id;
  item.dataset.current = String(device.current);
  const label = document.createElement("span");
  label.className = "device-label";
  label.textContent = device.label; // text, never HTML: the label comes from a User-Agent
  const times = document.createElement("span");
  times.className = "device-times";
  times.textContent =
    `signed in ${new Date(device.createdAt).toLocaleString()}, ` +
    `last refreshed ${new Date(device.lastRefreshedAt).toLocaleTimeString()}`;
  item.append(label, times);
  if (device.current) {
    const mark = document.createElement("span");
    mark.className = "this-device";
    mark.textContent = "this device";
    item.append(mark);
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary sign-out";
  button.textContent = device.current ? "Sign out" : "Sign out device";
  button.addEventListener("click", () => signOutDevice(device));
  item.append(button);
  return item;
}

async function loadDevices() {
  const result = await api("GET", "/api/sessions");
  if (!result.ok) {
    if (result.status === 401) showLoggedOut();
    return;
  }
  $("device-list").replaceChildren(...result.data.map(deviceItem));
  $("device-list").dataset.count = String(result.data.length);
  $("devices-status").textContent = `${result.data.length} device(s)`;
}

async function signOutDevice(device) {
  const result = await api("DELETE", `/api/sessions/${encodeURIComponent(device.id)}`);
  if (result.status === 204) {
    log(device.current ? "signed out this device" : `signed out ${device.label}`);
    if (device.current) return showLoggedOut();
  } else {
    log(`signing out ${device.label} failed with ${result.status}`);
    if (result.status === 401) return showLoggedOut();
  }
  await loadDevices();
}

async function signOutOthers() {
  const result = await api("POST", "/api/sessions/revoke-others");
  if (result.ok) log(`signed out ${result.data.revoked} other device(s)`);
  else if (result.status === 401) return showLoggedOut();
  await loadDevices();
}

// -- countdown and automatic refresh --------------------------------------------------------------

function tick() {
  if (state.expiresAt === null) return;
  const left = state.expiresAt - Date.now();
  const countdown = $("countdown");
  const seconds = Math.max(0, Math.ceil(left / 1000));
  countdown.dataset.seconds = String(seconds);
  countdown.textContent = seconds > 0 ? `access expires in ${seconds} s` : "access expired";
  countdown.classList.toggle("expired", seconds === 0);
  if (
    left <= -AUTO_REFRESH_DELAY_MS &&
    $("auto-refresh").checked &&
    state.autoRefreshedFor !== state.expiresAt &&
    !state.busy
  ) {
    // No refresh endpoint: the browser no longer sends the expired access cookie, so the guard's
    // read of the access session is answered by the plugin's refresh fallback.
    state.autoRefreshedFor = state.expiresAt;
    state.busy = true;
    callMe("auto refresh").finally(() => {
      state.busy = false;
    });
  }
}

$("login-form").addEventListener("submit", login);
$("logout-button").addEventListener("click", logout);
$("call-api").addEventListener("click", () => callMe("Call API"));
$("revoke-others").addEventListener("click", signOutOthers);
$("reload-devices").addEventListener("click", loadDevices);
setInterval(tick, 250);
callMe("startup");
