// DELIVR-CM service worker. The server writes this build's values in place of the three
// placeholders below. It keeps the fingerprinted assets and the offline page from the first
// visit, and the last copy of the dashboard, the orders list and the new-order form, which it
// shows, marked as offline, when the network is gone. Everything else goes to the network.
"use strict";

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const OFFLINE_PAGES = __OFFLINE_PAGES__;
const STATIC = "delivr-static-" + VERSION;
const PAGES = "delivr-pages";

const NOTE = {
  fr: (when) => "Hors ligne : voici cette page telle qu'elle était le " + when + ". Elle se mettra à jour au retour de la connexion.",
  en: (when) => "Offline: this is the page as it was on " + when + ". It will update when the connection is back.",
};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("delivr-static-") && k !== STATIC).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** The cached copy of a page, with a dated banner saying it is offline. */
async function offlineCopy(cached) {
  const html = await cached.text();
  const at = Number(cached.headers.get("x-delivr-cached-at")) || Date.now();
  const lang = /<html lang="en"/.test(html) ? "en" : "fr";
  const when = new Date(at).toLocaleString(lang === "en" ? "en-GB" : "fr-FR", { timeZone: "Africa/Douala", dateStyle: "short", timeStyle: "short" });
  const banner = '<div class="flash warn offline-note" role="status" data-offline="1">' + NOTE[lang](when) + "</div>";
  const body = html.replace('<main id="main">', '<main id="main">' + banner);
  return new Response(body, { status: 200, headers: { "content-type": "text/html; charset=utf-8", "x-delivr-offline": "1" } });
}

async function keep(path, response) {
  const headers = new Headers(response.headers);
  headers.set("x-delivr-cached-at", String(Date.now()));
  const body = await response.blob();
  const cache = await caches.open(PAGES);
  await cache.put(path, new Response(body, { status: 200, headers }));
}

async function page(request, url) {
  const remembered = OFFLINE_PAGES.includes(url.pathname) && url.search === "";
  try {
    const response = await fetch(request);
    // Only the vendor's own page (not a redirect to the login page) is kept.
    if (remembered && response.ok && !response.redirected) {
      await keep(url.pathname, response.clone());
    }
    return response;
  } catch (err) {
    if (remembered) {
      const cached = await (await caches.open(PAGES)).match(url.pathname);
      if (cached) return offlineCopy(cached);
    }
    const offline = await caches.match("/offline/");
    return offline || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Signing out forgets the pages kept for offline use.
    if (url.pathname === "/accounts/logout/") event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/icons/")) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(STATIC).then((cache) => cache.put(request, copy));
        }
        return response;
      })),
    );
    return;
  }
  if (request.mode === "navigate") event.respondWith(page(request, url));
});
