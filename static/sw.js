// Khidmat's service worker: the site as an app that opens without a connection.
// - The shell (stylesheet, script, icons) and an "offline" page in each language are kept at
//   install; every public page the citizen opens is kept as it is fetched (never staff pages,
//   never a signed-in citizen's own, never what the server says must not be stored).
// - Pages come from the network first, so they are always current when there is one; without
//   one, the kept copy, else the offline page in the citizen's language.
// - Reports and applications sent while offline wait in the outbox (IndexedDB, shared with
//   app.js) and are sent by Background Sync even after the page is closed, with their
//   idempotency key, so a retry never files twice.
"use strict";
var VERSION = "__VERSION__";
var PRECACHE = __PRECACHE__;
var SHELL = "khidmat-shell-" + VERSION;
var PAGES = "khidmat-pages";
var META = "khidmat-meta";
var TILES = "khidmat-tiles";
var MAX_TILES = 300;

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(PRECACHE); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("khidmat-shell-") === 0 && k !== SHELL;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Pages that hold one person's business are not kept on a phone others may use.
function keepable(url, res) {
  if (!res || res.status !== 200 || res.type !== "basic") return false;
  if (/^\/(staff|me|api|admin)(\/|$)/.test(url.pathname)) return false;
  var cc = res.headers.get("Cache-Control") || "";
  return cc.indexOf("no-store") < 0;
}

function language() {
  return caches.open(META).then(function (c) { return c.match("/__lang"); }).then(function (r) {
    return r ? r.text() : "en";
  }).then(function (l) { return /^(en|ur|ps)$/.test(l) ? l : "en"; }, function () { return "en"; });
}

function offlinePage(url) {
  var asked = url.searchParams.get("locale");
  return (asked && /^(en|ur|ps)$/.test(asked) ? Promise.resolve(asked) : language()).then(function (l) {
    return caches.match("/offline?locale=" + l);
  });
}

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    // Map tiles the report form's map asked for with CORS (`/{z}/{x}/{y}.png` of the tile
    // server): kept, so a map seen once opens again without a connection and costs no 2G
    // twice; the oldest go first past 300.
    if (req.mode === "cors" && /\/\d+\/\d+\/\d+\.(png|jpe?g|webp)$/.test(url.pathname)) {
      ev.respondWith(caches.open(TILES).then(function (c) {
        return c.match(req).then(function (hit) {
          return hit || fetch(req).then(function (res) {
            if (res.ok && res.type === "cors") {
              c.put(req, res.clone()).then(function () { return c.keys(); }).then(function (keys) {
                return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_TILES)).map(function (k) { return c.delete(k); }));
              }).catch(function () {});
            }
            return res;
          });
        });
      }));
    }
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/icons/") === 0) {
    // Versioned files never change: the kept copy first.
    ev.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) {
          var copy = res.clone();
          caches.open(SHELL).then(function (c) { c.put(req, copy); });
        }
        return res;
      });
    }));
    return;
  }
  if (req.mode !== "navigate") return;
  ev.respondWith(fetch(req).then(function (res) {
    if (keepable(url, res)) {
      var copy = res.clone();
      caches.open(PAGES).then(function (c) { c.put(req, copy); });
    }
    return res;
  }, function () {
    return caches.open(PAGES).then(function (c) { return c.match(req, { ignoreVary: true }); }).then(function (hit) {
      return hit || offlinePage(url);
    }).then(function (res) {
      return res || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
    });
  }));
});

// --- the outbox (the same database app.js writes) ---------------------------------------
function db() {
  return new Promise(function (ok, fail) {
    var open = indexedDB.open("khidmat", 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore("outbox", { keyPath: "key" });
      open.result.createObjectStore("sent", { keyPath: "key" });
    };
    open.onsuccess = function () { ok(open.result); };
    open.onerror = function () { fail(open.error); };
  });
}
function all(d, store) {
  return new Promise(function (ok, fail) {
    var r = d.transaction(store).objectStore(store).getAll();
    r.onsuccess = function () { ok(r.result); };
    r.onerror = function () { fail(r.error); };
  });
}
function done(d, entry, url, ok) {
  return new Promise(function (resolve, fail) {
    var tx = d.transaction(["outbox", "sent"], "readwrite");
    tx.objectStore("outbox").delete(entry.key);
    tx.objectStore("sent").put({ key: entry.key, url: url, ok: ok, action: entry.action, at: Date.now() });
    tx.oncomplete = function () { resolve(); };
    tx.onerror = function () { fail(tx.error); };
  });
}

function send(entry) {
  var fd = new FormData();
  entry.fields.forEach(function (kv) { fd.append(kv[0], kv[1]); });
  (entry.files || []).forEach(function (f) { fd.append(f[0], f[1], f[2]); });
  return fetch(entry.action, { method: "POST", body: fd, credentials: "same-origin" });
}

// Send everything waiting; a network failure rejects, so the browser tries the sync again.
function flush() {
  return db().then(function (d) {
    return all(d, "outbox").then(function (list) {
      return list.reduce(function (chain, entry) {
        return chain.then(function () {
          return send(entry).then(function (res) {
            // Busy or failing: kept, and the browser tries the sync again later.
            if (res.status === 429 || res.status >= 500) throw new Error("server " + res.status);
            var sent = res.ok && res.url.indexOf(entry.done || "/track/") >= 0;
            return done(d, entry, sent ? res.url : entry.action, sent);
          });
        });
      }, Promise.resolve());
    });
  }).then(function () {
    return self.clients.matchAll({ type: "window" }).then(function (cs) {
      cs.forEach(function (c) { c.postMessage({ outbox: "flushed" }); });
    });
  });
}

self.addEventListener("sync", function (ev) {
  if (ev.tag === "outbox") ev.waitUntil(flush());
});
self.addEventListener("message", function (ev) {
  if (ev.data && ev.data.outbox === "flush") ev.waitUntil(flush().catch(function () {}));
});

// --- Web Push: a report the citizen follows has changed --------------------------------------
self.addEventListener("push", function (ev) {
  var m = {};
  try { m = ev.data ? ev.data.json() : {}; } catch (e) { m = { body: ev.data && ev.data.text() }; }
  ev.waitUntil(self.registration.showNotification(m.title || "Khidmat", {
    body: m.body || "", icon: "/icons/192.png", badge: "/icons/192.png", tag: m.url || "khidmat",
    data: { url: m.url || "/" },
  }));
});
self.addEventListener("notificationclick", function (ev) {
  ev.notification.close();
  var url = (ev.notification.data && ev.notification.data.url) || "/";
  if (url.charAt(0) !== "/" || url.charAt(1) === "/") url = "/";
  ev.waitUntil(self.clients.matchAll({ type: "window" }).then(function (cs) {
    for (var i = 0; i < cs.length; i++) {
      if (new URL(cs[i].url).pathname === url) return cs[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
