// Khidmat: a little script on top of pages that work without it.
// - "use my location" fills the report form's lat/long;
// - a photo is scaled down in the browser before upload (a 4 MB camera photo becomes ~150 KB);
// - a report or a grant application sent while the connection is down waits in the outbox on
//   the phone (IndexedDB,
//   shared with the service worker, /sw.js) and is sent when the connection returns, by
//   Background Sync even if the page was closed (else when a Khidmat page is next open), with
//   the same idempotency key, so it is never lost and never filed twice;
// - the service worker keeps the pages opened, for use without a connection;
// - a form marked data-steps (an application) shows one step at a time on a small screen,
//   checking each step's answers before the next;
// - a print button where a page has one.
(function () {
  "use strict";
  var OLD_KEY = "khidmat-outbox";
  var busy = false;

  // A list this phone keeps in localStorage (its reports, its alerts' ways out): read, or
  // written (a full or refused storage keeps the old list).
  function listed(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function keepList(key, list) {
    try { localStorage.setItem(key, JSON.stringify(list)); } catch (e) {}
  }

  // --- the outbox: IndexedDB "khidmat" (stores "outbox" and "sent"), as sw.js opens it ------
  function db() {
    return new Promise(function (ok, fail) {
      if (!window.indexedDB) return fail(new Error("no IndexedDB"));
      var open = indexedDB.open("khidmat", 1);
      open.onupgradeneeded = function () {
        open.result.createObjectStore("outbox", { keyPath: "key" });
        open.result.createObjectStore("sent", { keyPath: "key" });
      };
      open.onsuccess = function () { ok(open.result); };
      open.onerror = function () { fail(open.error); };
    });
  }
  function run(store, mode, work) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var tx = d.transaction(store, mode);
        var r = work(tx.objectStore(store));
        tx.oncomplete = function () { ok(r && r.result); };
        tx.onerror = function () { fail(tx.error); };
      });
    });
  }
  function load() { return run("outbox", "readonly", function (s) { return s.getAll(); }); }
  function keep(entry) { return run("outbox", "readwrite", function (s) { return s.put(entry); }); }
  function drop(key) { return run("outbox", "readwrite", function (s) { return s.delete(key); }); }
  function sentList() { return run("sent", "readonly", function (s) { return s.getAll(); }); }
  function forget(key) { return run("sent", "readwrite", function (s) { return s.delete(key); }); }

  // Reports kept by an earlier version of this script (localStorage, photos as data: URLs).
  function migrate() {
    var old = listed(OLD_KEY);
    if (!old.length) return Promise.resolve();
    return Promise.all(old.map(function (e) {
      return keep({ action: e.action, key: e.key, fields: e.fields, files: e.photo ? [["media", fromData(e.photo), "photo.jpg"]] : [] });
    })).then(function () { localStorage.removeItem(OLD_KEY); });
  }
  function fromData(url) {
    var parts = url.split(","), bytes = atob(parts[1]), buf = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) buf[i] = bytes.charCodeAt(i);
    return new Blob([buf], { type: "image/jpeg" });
  }

  function box() { return document.getElementById("outbox"); }
  function say(text, href, linkText) {
    var b = box();
    if (!b) return;
    b.textContent = text + " ";
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = linkText;
      b.appendChild(a);
    }
    b.hidden = false;
    b.scrollIntoView({ block: "nearest" });
  }

  // The form token is this page's: the one kept with the report was bound to the sessions of
  // its day, and the citizen may have signed in or out since. Sent with XMLHttpRequest, which
  // (unlike fetch) tells how much of the body has gone: `progress(sent, total)` hears of it.
  // Resolves like fetch does: { ok, status, url, redirected, text() }.
  function post(entry, progress) {
    var fd = new FormData();
    var meta = document.querySelector('meta[name="csrf"]');
    entry.fields.forEach(function (kv) {
      fd.append(kv[0], kv[0] === "csrf" && meta ? meta.content : kv[1]);
    });
    (entry.files || []).forEach(function (f) { fd.append(f[0], f[1], f[2]); });
    return new Promise(function (ok, fail) {
      var x = new XMLHttpRequest();
      x.open("POST", entry.action);
      x.withCredentials = true;
      if (progress && x.upload) {
        x.upload.onprogress = function (e) { if (e.lengthComputable) progress(e.loaded, e.total); };
      }
      x.onload = function () {
        var url = x.responseURL || entry.action;
        ok({
          ok: x.status >= 200 && x.status < 300, status: x.status, url: url,
          redirected: url !== entry.action,
          text: function () { return Promise.resolve(x.responseText); },
        });
      };
      x.onerror = x.ontimeout = x.onabort = function () { fail(new Error("network")); };
      x.send(fd);
    });
  }

  // "Sent 120 of 450 KB" under a form while its photos go, and the bar beside it.
  function showProgress(form) {
    var note = form.querySelector(".sending");
    var bar = form.querySelector("progress.upload");
    return function (sent, total) {
      if (bar) { bar.hidden = false; bar.max = total; bar.value = sent; }
      if (note && note.dataset.progress) {
        note.textContent = note.dataset.progress
          .replace("[sent]", Math.round(sent / 1024)).replace("[total]", Math.round(total / 1024));
      }
    };
  }

  // What the service worker sent while no page watched: said once, with where to look.
  function tellSent() {
    return sentList().then(function (list) {
      var b = box();
      list.forEach(function (s) {
        say(s.ok ? b.dataset.sent : b.dataset.refused, s.url, b.dataset.open);
        forget(s.key);
      });
    }, function () {});
  }

  // Ask the browser to send the outbox when it is online, even after this page is closed.
  function wantSync() {
    if (!("serviceWorker" in navigator)) return Promise.resolve(false);
    return navigator.serviceWorker.ready.then(function (reg) {
      if (!reg.sync) return false;
      return reg.sync.register("outbox").then(function () { return true; }, function () { return false; });
    });
  }

  // Send what is waiting in the outbox. A network failure leaves it there for the next try.
  function flush() {
    if (busy || navigator.onLine === false) return;
    busy = true;
    load().then(function (list) {
      if (!list.length) { busy = false; return; }
      var b = box();
      var entry = list[0];
      return post(entry).then(function (res) {
        // The server is busy or failing: not a refusal of what was sent; kept for the next try.
        if (res.status === 429 || res.status >= 500) {
          busy = false;
          say(b.dataset.pending);
          return;
        }
        return drop(entry.key).then(function () {
          if (res.ok && res.url.indexOf(entry.done || "/track/") >= 0) {
            say(b.dataset.sent, res.url, b.dataset.open);
          } else {
            say(b.dataset.refused, entry.action, b.dataset.open);
          }
          busy = false;
          flush();
        });
      }, function () {
        busy = false;
        say(b.dataset.pending);
      });
    }, function () { busy = false; });
  }

  // A fresh idempotency key each time a form is shown: a page kept for offline use would
  // otherwise give two reports one key (and the second would be taken for a retry of the first).
  function freshKey(form) {
    var k = form.elements.idempotency_key;
    if (!k || !window.crypto || !crypto.getRandomValues) return;
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    k.value = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function downscale(file, max) {
    return new Promise(function (ok) {
      if (!window.createImageBitmap) return ok(file);
      createImageBitmap(file).then(function (img) {
        var scale = Math.min(1, max / Math.max(img.width, img.height));
        var c = document.createElement("canvas");
        c.width = Math.round(img.width * scale);
        c.height = Math.round(img.height * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        c.toBlob(function (blob) { ok(blob || file); }, "image/jpeg", 0.8);
      }, function () { ok(file); });
    });
  }

  // A document photo sent with a form as it is (no outbox): replaced in its input by a smaller
  // copy, still readable (1800 px on its longer side), so it crosses 2G in seconds.
  function shrinkInPlace(input) {
    input.addEventListener("change", function () {
      var f = input.files && input.files[0];
      if (!f || !window.DataTransfer || !/^image\/(jpeg|png|webp)$/.test(f.type)) return;
      downscale(f, +input.dataset.shrink).then(function (b) {
        if (!b || b === f || b.size >= f.size || input.files[0] !== f) return;
        var dt = new DataTransfer();
        dt.items.add(new File([b], f.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }));
        input.files = dt.files;
      });
    });
  }

  // "Use my location": fill the form's lat and long (and send it, on the "near me" search).
  function setupGeo(form) {
    var geo = form.querySelector(".geo");
    if (!geo || !navigator.geolocation) return;
    geo.hidden = false;
    var status = geo.querySelector(".geo-status");
    var button = geo.querySelector("[data-locate]");
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.long.value = pos.coords.longitude.toFixed(6);
        status.textContent = status.dataset.located + " (±" + Math.round(pos.coords.accuracy) + " m)";
        form.dispatchEvent(new Event("located"));
        if (button.hasAttribute("data-submit")) form.submit();
      }, function () {
        status.textContent = status.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }

  // A refused form's answer (the page with the problem) in place of this one, from its top,
  // where the problem is announced and focused.
  function showPage(html) {
    document.open();
    document.write(html);
    document.close();
    window.scrollTo(0, 0);
  }

  // The photos a form sends (templates/photo_pick.html): each camera shot is added, a choice
  // from the phone replaces the last choice; every photo is downscaled in the browser before it
  // goes (a phone's 4 MB photo leaves as about 150 KB), at most the service's number of them,
  // counted and shown small in the page's language (the browser's file input speaks its own).
  function photoPicker(form) {
    var box = form.querySelector(".photos");
    var shots = [], chosen = [], ready = Promise.resolve();
    function max() { return +((box && box.dataset.max) || 1); }
    function all() { return shots.concat(chosen).slice(0, max()); }
    function show() {
      if (!box) return;
      var status = box.querySelector(".photo-status"), thumbs = box.querySelector(".thumbs");
      var n = shots.length + chosen.length;
      status.textContent = n ? box.dataset.ready.replace("[count]", Math.min(n, max())) : box.dataset.none;
      if (n > max() && box.dataset.tooMany) status.textContent += " " + box.dataset.tooMany;
      thumbs.textContent = "";
      all().forEach(function (b) {
        var img = document.createElement("img");
        img.alt = "";
        img.src = URL.createObjectURL(b);
        img.onload = function () { URL.revokeObjectURL(img.src); };
        thumbs.appendChild(img);
      });
    }
    if (box) {
      Array.prototype.forEach.call(box.querySelectorAll("input[data-downscale]"), function (input) {
        input.addEventListener("change", function () {
          var files = Array.prototype.slice.call(input.files || []), side = +input.dataset.downscale;
          ready = ready.then(function () {
            return Promise.all(files.map(function (f) { return downscale(f, side); }));
          }).then(function (blobs) {
            if (input.hasAttribute("data-shot")) {
              // Kept here, so the camera can be used again for another photo.
              shots = shots.concat(blobs).slice(-max());
              input.value = "";
            } else {
              chosen = blobs;
            }
            show();
          });
        });
      });
    }
    return {
      files: function () {
        return ready.then(function () {
          return all().map(function (b, i) { return ["media", b, "photo" + (i + 1) + ".jpg"]; });
        });
      },
      clear: function () { shots = []; chosen = []; ready = Promise.resolve(); show(); },
    };
  }

  // A form with photos that is not kept in the outbox (an update to a report): sent with the
  // photos downscaled and its progress shown; a refusal shows the page that says why.
  function setupUpload(form) {
    var picker = photoPicker(form);
    if (!window.FormData || !window.XMLHttpRequest) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = form.querySelector(".sending");
      var button = form.querySelector("button[type=submit]");
      note.textContent = note.dataset.sending;
      note.hidden = false;
      button.disabled = true;
      // Text fields, and the files of inputs the picker does not handle (a grant's documents,
      // already made smaller in place).
      var fields = [], others = [];
      new FormData(form).forEach(function (v, k) {
        if (typeof v === "string") fields.push([k, v]);
        else if (v.size && k !== "media") others.push([k, v, v.name]);
      });
      picker.files().then(function (files) {
        return post({ action: form.action, fields: fields, files: others.concat(files) }, showProgress(form));
      }).then(function (res) {
        if (res.redirected) { location.href = res.url; return; }
        return res.text().then(showPage);
      }, function () {
        note.textContent = note.dataset.failed;
        button.disabled = false;
      });
    });
  }

  function setupForm(form) {
    var picker = photoPicker(form);
    if (!window.FormData || !window.XMLHttpRequest) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = form.querySelector(".sending");
      var button = form.querySelector("button[type=submit]");
      note.textContent = note.dataset.sending;
      note.hidden = false;
      button.disabled = true;
      // Text fields, and the files of inputs the photo picker does not handle (a grant's
      // documents, already made smaller in place).
      var fields = [], others = [];
      new FormData(form).forEach(function (v, k) {
        if (typeof v === "string") fields.push([k, v]);
        else if (v.size && k !== "media") others.push([k, v, v.name]);
      });
      var entry, kept, done = form.dataset.done || "/track/";
      picker.files().then(function (files) {
        entry = {
          action: form.action, key: form.elements.idempotency_key.value, fields: fields,
          files: others.concat(files), at: Date.now(), done: done,
        };
        // Kept before sending: if the page dies mid-send, the report is still on the phone.
        kept = keep(entry).then(function () { return true; }, function () { return false; });
        return kept.then(function () { return post(entry, showProgress(form)); });
      }).then(function (res) {
        drop(entry.key);
        if (res.redirected || res.url.indexOf(done) >= 0) {
          location.href = res.url;
          return;
        }
        // Refused (a problem in what was typed): the page with the problem, announced and
        // focused where the citizen is looking.
        return res.text().then(showPage);
      }, function () {
        (kept || Promise.resolve(false)).then(function (ok) {
          if (!ok) {
            note.textContent = note.dataset.failed || note.dataset.offline;
            button.disabled = false;
            return;
          }
          // Waiting on the phone: the form is emptied for the next report, with a new key.
          wantSync();
          form.reset();
          picker.clear();
          freshKey(form);
          button.disabled = false;
          var bar = form.querySelector("progress.upload");
          if (bar) bar.hidden = true;
          note.textContent = note.dataset.offline;
          note.scrollIntoView({ block: "nearest" });
        });
      });
    });
  }

  // The server's VAPID public key (base64url) as the push manager takes it.
  function urlKey(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // This phone's Web Push subscription (made once, shared by every report and area it follows).
  function pushSubscription(key) {
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlKey(key) });
      });
    });
  }

  // Alerts for an area on this phone (the alerts page): subscribed by Web Push for the area
  // chosen; the way out of each is kept on the phone and listed under the form.
  var ALERTS = "khidmat-alerts";
  function showAlerts() {
    var box = document.querySelector("[data-mine-alerts]");
    if (!box || !window.localStorage) return;
    var ul = box.querySelector("ul");
    ul.textContent = "";
    listed(ALERTS).forEach(function (a) {
      if (!/^\/alerts\/[0-9A-Za-z_-]+\/stop$/.test(a.stop)) return;
      var li = document.createElement("li"), stop = document.createElement("a");
      li.appendChild(document.createTextNode(a.what + " "));
      stop.href = a.stop;
      stop.textContent = box.dataset.stop;
      stop.addEventListener("click", function () {
        var rest = listed(ALERTS).filter(function (x) { return x.stop !== a.stop; });
        keepList(ALERTS, rest);
      });
      li.appendChild(stop);
      ul.appendChild(li);
    });
    box.hidden = !ul.children.length;
  }
  function setupAlertPush(form) {
    var box = form.querySelector(".alert-push");
    if (!box || !("serviceWorker" in navigator) || !window.PushManager || !window.Notification || !window.fetch) return;
    var button = box.querySelector("[data-alert-push]"), status = box.querySelector(".alert-push-status");
    box.hidden = false;
    // What the alert covers, as the form shows it, for the list on this phone.
    function what() {
      var d = form.elements.district, sv = form.elements.service, r = form.elements.radius;
      var where = form.elements.lat.value
        ? form.querySelector(".geo-status").textContent + " · " + r.options[r.selectedIndex].text
        : d.options[d.selectedIndex].text;
      return where + " · " + sv.options[sv.selectedIndex].text;
    }
    button.addEventListener("click", function () {
      if (!form.elements.district.value && !form.elements.lat.value) {
        status.textContent = button.dataset.place;
        return;
      }
      button.disabled = true;
      Notification.requestPermission().then(function (p) {
        if (p !== "granted") { status.textContent = button.dataset.denied; return; }
        return pushSubscription(form.dataset.key).then(function (sub) {
          var j = sub.toJSON(), fd = new URLSearchParams(new FormData(form));
          fd.delete("email");
          fd.append("endpoint", j.endpoint);
          fd.append("p256dh", (j.keys && j.keys.p256dh) || "");
          fd.append("auth", (j.keys && j.keys.auth) || "");
          return fetch("/alerts/push", { method: "POST", body: fd, credentials: "same-origin" });
        }).then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.json();
        }).then(function (out) {
          var list = listed(ALERTS);
          list.push({ stop: out.stop, what: what() });
          keepList(ALERTS, list);
          status.textContent = button.dataset.on;
          showAlerts();
        });
      }).catch(function () { status.textContent = button.dataset.failed; }).then(function () { button.disabled = false; });
    });
  }

  // "Tell me on this phone": a Web Push subscription for this report, or its end.
  function setupFollow(form) {
    if (!("serviceWorker" in navigator) || !window.PushManager || !window.Notification) return;
    var button = form.querySelector("[data-follow]");
    var label = button.querySelector("span");
    var status = form.querySelector(".follow-status");
    var on = false;
    function show(subscribed, message) {
      on = subscribed;
      label.textContent = subscribed ? form.dataset.stopLabel : form.dataset.startLabel;
      if (message) status.textContent = message;
    }
    function send(action, sub) {
      var j = sub.toJSON();
      var fd = new URLSearchParams();
      fd.append("csrf", form.elements.csrf.value);
      fd.append("endpoint", j.endpoint);
      fd.append("p256dh", (j.keys && j.keys.p256dh) || "");
      fd.append("auth", (j.keys && j.keys.auth) || "");
      return fetch(action, { method: "POST", body: fd, credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
      });
    }
    navigator.serviceWorker.ready.then(function (reg) {
      form.hidden = false;
      reg.pushManager.getSubscription().then(function (sub) { show(!!sub && localStorage.getItem("follow:" + form.action) === "1"); });
      button.addEventListener("click", function () {
        button.disabled = true;
        var done = function () { button.disabled = false; };
        if (on) {
          reg.pushManager.getSubscription().then(function (sub) {
            return sub ? send(form.dataset.stop, sub) : null;
          }).then(function () {
            localStorage.removeItem("follow:" + form.action);
            show(false, form.dataset.off);
          }, function () { status.textContent = form.dataset.failed; }).then(done);
          return;
        }
        Notification.requestPermission().then(function (p) {
          if (p !== "granted") { status.textContent = form.dataset.denied; return; }
          return pushSubscription(form.dataset.key).then(function (sub) { return send(form.action, sub); }).then(function () {
            localStorage.setItem("follow:" + form.action, "1");
            show(true, form.dataset.on);
          });
        }).catch(function () { status.textContent = form.dataset.failed; }).then(done);
      });
    });
  }

  // One fieldset.step at a time, with Back and Next; without this script, all steps show.
  function setupSteps(form) {
    var steps = form.querySelectorAll("fieldset.step");
    if (steps.length < 2) return;
    var at = 0;
    function show(i) {
      at = i;
      Array.prototype.forEach.call(steps, function (s, j) { s.hidden = j !== i; });
      steps[i].scrollIntoView({ block: "start" });
    }
    Array.prototype.forEach.call(steps, function (step, i) {
      var nav = document.createElement("p");
      if (i > 0) {
        var back = document.createElement("button");
        back.type = "button";
        back.className = "button secondary";
        back.textContent = form.dataset.back;
        back.addEventListener("click", function () { show(i - 1); });
        nav.appendChild(back);
        nav.appendChild(document.createTextNode(" "));
      }
      if (i < steps.length - 1) {
        var next = document.createElement("button");
        next.type = "button";
        next.className = "button";
        next.textContent = form.dataset.next;
        next.addEventListener("click", function () {
          var fields = step.querySelectorAll("input, select, textarea");
          for (var k = 0; k < fields.length; k++) {
            if (!fields[k].checkValidity()) { fields[k].reportValidity(); return; }
          }
          show(i + 1);
        });
        nav.appendChild(next);
      }
      step.appendChild(nav);
    });
    // A step with a problem the server found (or the browser's check on sending) is shown.
    form.addEventListener("invalid", function (e) {
      for (var k = 0; k < steps.length; k++) {
        if (steps[k].contains(e.target) && k !== at) { show(k); break; }
      }
    }, true);
    form.addEventListener("reset", function () { show(0); });
    show(0);
  }

  // The report form's map: a pin the citizen drags (or a tap that puts it there) to where the
  // problem is; the district select follows the pin, by the server's own rule (the nearest
  // district headquarters within 80 km), so the report goes to the body that serves it there.
  // Tiles come from the configured server; without them the districts' names still orient.
  // Without script the district and landmark fields do the same job.
  function setupPinMap(form) {
    var box = form.querySelector(".pinmap");
    if (!box || !window.JSON) return;
    box.hidden = false;
    var area = box.querySelector(".pinarea"), view = box.querySelector(".pinview");
    var layer = box.querySelector(".pinlayer"), pin = box.querySelector(".pin");
    var status = box.querySelector(".pin-status");
    var districts = JSON.parse(box.dataset.districts || "[]");
    var T = 256, zoom = 13, centre = null, at = null, dragging = false;
    function project(lat, long, z) {
      var size = T * Math.pow(2, z), r = Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI / 180;
      return [(long + 180) / 360 * size, (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * size];
    }
    function unproject(x, y, z) {
      var size = T * Math.pow(2, z), n = Math.PI * (1 - 2 * y / size);
      return [Math.atan(Math.sinh(n)) * 180 / Math.PI, x / size * 360 - 180];
    }
    function metres(a, b, c, d) {
      var R = 6371008.8, r = Math.PI / 180, dl = (c - a) * r, dg = (d - b) * r;
      var h = Math.pow(Math.sin(dl / 2), 2) + Math.cos(a * r) * Math.cos(c * r) * Math.pow(Math.sin(dg / 2), 2);
      return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
    }
    function nearest(lat, long) {
      var best = null, bestM = 80000;
      districts.forEach(function (d) {
        var m = metres(lat, long, d.lat, d.long);
        if (m <= bestM) { best = d; bestM = m; }
      });
      return best;
    }
    function corner() {
      return [centre[0] - view.clientWidth / 2, centre[1] - view.clientHeight / 2];
    }
    function draw() {
      var w = view.clientWidth, h = view.clientHeight, c = corner(), n = Math.pow(2, zoom);
      layer.textContent = "";
      if (box.dataset.tiles) {
        for (var ty = Math.floor(c[1] / T); ty <= Math.floor((c[1] + h) / T); ty++) {
          if (ty < 0 || ty >= n) continue;
          for (var tx = Math.floor(c[0] / T); tx <= Math.floor((c[0] + w) / T); tx++) {
            var img = document.createElement("img");
            img.className = "tile";
            img.alt = "";
            img.crossOrigin = "anonymous";
            img.src = box.dataset.tiles.replace("{z}", zoom).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty);
            img.style.left = (tx * T - c[0]) + "px";
            img.style.top = (ty * T - c[1]) + "px";
            img.addEventListener("error", function () { dropTile(this); });
            layer.appendChild(img);
          }
        }
      }
      districts.forEach(function (d) {
        var p = project(d.lat, d.long, zoom), x = p[0] - c[0], y = p[1] - c[1];
        if (x < 0 || y < 0 || x > w || y > h) return;
        var label = document.createElement("span");
        label.className = "hq";
        label.textContent = "■ " + d.name;
        label.style.left = x + "px";
        label.style.top = y + "px";
        layer.appendChild(label);
      });
      var p = project(at[0], at[1], zoom);
      pin.style.left = (p[0] - c[0]) + "px";
      pin.style.top = (p[1] - c[1]) + "px";
    }
    // The pin's place is the report's: lat and long, and the district it is in.
    function place(lat, long) {
      form.dispatchEvent(new CustomEvent("placed", { detail: [lat, long] }));
      at = [lat, long];
      form.elements.lat.value = lat.toFixed(6);
      form.elements.long.value = long.toFixed(6);
      var d = nearest(lat, long);
      if (d && form.elements.district) form.elements.district.value = d.slug;
      status.textContent = box.dataset.here + " " + (d ? d.name : box.dataset.outside) + " ";
      // The coordinates held left to right, whatever the page's direction.
      var where = document.createElement("bdi");
      where.dir = "ltr";
      where.textContent = "(" + lat.toFixed(5) + ", " + long.toFixed(5) + ")";
      status.appendChild(where);
    }
    function show(lat, long, z, placed) {
      area.hidden = false;
      zoom = z;
      centre = project(lat, long, zoom);
      at = [lat, long];
      if (placed) place(lat, long); else status.textContent = box.dataset.move;
      draw();
    }
    function pointAt(ev) {
      var r = view.getBoundingClientRect(), c = corner();
      return unproject(c[0] + ev.clientX - r.left, c[1] + ev.clientY - r.top, zoom);
    }
    function open() {
      var d = form.elements.district && districts.filter(function (x) { return x.slug === form.elements.district.value; })[0];
      var lat = parseFloat(form.elements.lat.value), long = parseFloat(form.elements.long.value);
      if (!isNaN(lat) && !isNaN(long)) show(lat, long, 16, true);
      else if (d) show(d.lat, d.long, 12, false);
      else show(34.0, 71.8, 7, false);
    }
    box.querySelector("[data-pin-open]").addEventListener("click", function () {
      this.parentNode.hidden = true;
      open();
    });
    pin.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      dragging = true;
      pin.setPointerCapture(ev.pointerId);
    });
    pin.addEventListener("pointermove", function (ev) {
      if (!dragging) return;
      var r = view.getBoundingClientRect();
      pin.style.left = (ev.clientX - r.left) + "px";
      pin.style.top = (ev.clientY - r.top) + "px";
    });
    pin.addEventListener("pointerup", function (ev) {
      if (!dragging) return;
      dragging = false;
      var p = pointAt(ev);
      place(p[0], p[1]);
      draw();
    });
    view.addEventListener("click", function (ev) {
      if (pin.contains(ev.target)) return;
      var p = pointAt(ev);
      place(p[0], p[1]);
      draw();
    });
    Array.prototype.forEach.call(box.querySelectorAll("[data-zoom]"), function (b) {
      b.addEventListener("click", function () {
        zoom = Math.max(5, Math.min(18, zoom + +b.dataset.zoom));
        centre = project(at[0], at[1], zoom);
        draw();
      });
    });
    box.querySelector("[data-pin-ok]").addEventListener("click", function () { place(at[0], at[1]); draw(); });
    // The phone's location, once found, is where the pin starts; a district chosen by hand
    // shows that district (the pin still to be put down).
    form.addEventListener("located", function () {
      box.querySelector("[data-pin-open]").parentNode.hidden = true;
      show(parseFloat(form.elements.lat.value), parseFloat(form.elements.long.value), 16, true);
    });
    if (form.elements.district) {
      form.elements.district.addEventListener("change", function () {
        var d = districts.filter(function (x) { return x.slug === form.elements.district.value; })[0];
        if (!d || area.hidden || (form.elements.lat.value && nearest(at[0], at[1]) === d)) return;
        // Another district than the pin's: the citizen says it is elsewhere; the pin is to be
        // put down again there.
        form.elements.lat.value = "";
        form.elements.long.value = "";
        show(d.lat, d.long, 12, false);
      });
    }
  }

  // Reports of the same kind already made near the place, shown before a new one is sent: the
  // citizen can open one, add to it or follow it instead (the server links a duplicate anyway).
  function setupNearby(form) {
    var box = form.querySelector(".nearby");
    if (!box || !window.fetch) return;
    var list = box.querySelector("ul"), asked = 0;
    function look(lat, long) {
      if (isNaN(lat) || isNaN(long)) return;
      var mine = ++asked;
      fetch(box.dataset.url + "?lat=" + lat.toFixed(6) + "&long=" + long.toFixed(6), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { reports: [] }; })
        .then(function (body) {
          if (mine !== asked) return;
          list.textContent = "";
          body.reports.forEach(function (r) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = r.url;
            var ref = document.createElement("bdi");
            ref.textContent = "#" + r.id;
            a.appendChild(ref);
            li.appendChild(a);
            var away = document.createElement("bdi");
            away.textContent = " · " + box.dataset.away.replace("[metres]", r.metres) + " · " + r.submitted;
            li.appendChild(away);
            if (r.description) {
              var d = document.createElement("p");
              d.dir = "auto";
              d.textContent = r.description;
              li.appendChild(d);
            }
            list.appendChild(li);
          });
          box.hidden = body.reports.length === 0;
        }, function () {});
    }
    form.addEventListener("placed", function (ev) { look(ev.detail[0], ev.detail[1]); });
    form.addEventListener("located", function () {
      look(parseFloat(form.elements.lat.value), parseFloat(form.elements.long.value));
    });
  }

  // A CNIC's own rules, the server's (benefits::model::check_cnic), checked as it is typed, so a
  // citizen on 2G is not told only after the upload: the first digit names a province (1-7),
  // the last is odd for men and even for women. Urdu and Persian digits count as digits.
  function setupCnic(input) {
    var form = input.form;
    function latin(s) {
      return s.replace(/[\u06F0-\u06F9]/g, function (d) { return String(d.charCodeAt(0) - 0x6F0); })
        .replace(/[\u0660-\u0669]/g, function (d) { return String(d.charCodeAt(0) - 0x660); });
    }
    function check() {
      var d = latin(input.value).replace(/[^0-9]/g, "");
      var message = "";
      if (d.length === 13) {
        var g = form.querySelector("input[name=gender]:checked");
        var odd = (+d[12]) % 2 === 1;
        if (d[0] < "1" || d[0] > "7") message = input.dataset.province;
        else if (g && ((g.value === "male" && !odd) || (g.value === "female" && odd))) message = input.dataset.gender;
      }
      input.setCustomValidity(message);
    }
    input.addEventListener("input", check);
    Array.prototype.forEach.call(form.querySelectorAll("input[name=gender]"), function (r) {
      r.addEventListener("change", check);
    });
    check();
  }

  // The browser's own messages for a field left empty or mistyped speak the browser's language:
  // these speak the page's (templates/base.html puts them on <main>). A field's own message (the
  // CNIC's rules) is left as it is; ours is taken back as soon as the field is changed.
  function localValidation() {
    var main = document.getElementById("main"), say = main && main.dataset;
    if (!say || !say.required) return;
    document.addEventListener("invalid", function (e) {
      var el = e.target, v = el.validity;
      if (!v || (v.customError && !el.hasAttribute("data-said"))) return;
      var pick = el.type === "radio" || el.type === "checkbox" || el.tagName === "SELECT";
      var text = v.valueMissing ? (el.type === "file" ? say.file : pick ? say.choose : say.required)
        : v.typeMismatch && el.type === "email" ? say.email
        : v.rangeUnderflow || v.rangeOverflow || v.stepMismatch ? say.range
        : say.format;
      el.setAttribute("data-said", "");
      el.setCustomValidity("");
      if (el.validity.valid) return;
      el.setCustomValidity(text);
    }, true);
    function unsay(e) {
      var el = e.target, group = [el];
      if (el.type === "radio" && el.form && el.name) group = el.form.querySelectorAll('input[name="' + el.name + '"]');
      Array.prototype.forEach.call(group, function (g) {
        if (!g.hasAttribute || !g.hasAttribute("data-said")) return;
        g.removeAttribute("data-said");
        g.setCustomValidity("");
      });
    }
    // Capturing, so that a field's own check (on the field) runs after and keeps its message.
    document.addEventListener("input", unsay, true);
    document.addEventListener("change", unsay, true);
  }

  // "Your reports on this phone": each tracking page opened here is remembered (its link, its
  // reference, what and when, as the page said them) in this browser only, and listed on the
  // home page, so a citizen follows their reports without SMS or an account; they can forget
  // them (a shared phone).
  var MINE = "khidmat-mine";
  function remember(keep) {
    var entry = { url: location.pathname, ref: keep.dataset.mineRef, what: keep.dataset.mineWhat, when: keep.dataset.mineWhen };
    var list = listed(MINE).filter(function (m) { return m.url !== entry.url; });
    list.unshift(entry);
    keepList(MINE, list.slice(0, 30));
  }
  function showMine(box) {
    var list = listed(MINE), ul = box.querySelector("ul");
    if (!list.length) return;
    list.forEach(function (m) {
      if (!/^\/track\/[0-9a-f]+$/.test(m.url)) return;
      var li = document.createElement("li"), a = document.createElement("a"), ref = document.createElement("bdi");
      a.href = m.url;
      ref.textContent = "#" + m.ref;
      a.appendChild(ref);
      a.appendChild(document.createTextNode(" " + m.what));
      var when = document.createElement("bdi");
      when.className = "meta";
      when.textContent = m.when;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" · "));
      li.appendChild(when);
      ul.appendChild(li);
    });
    box.hidden = !ul.children.length;
    box.querySelector("[data-forget]").addEventListener("click", function () {
      localStorage.removeItem(MINE);
      box.hidden = true;
    });
  }

  // A map tile that could not be fetched leaves an empty frame: take it away.
  function dropTile(img) { if (img.parentNode) img.parentNode.removeChild(img); }

  document.documentElement.className += " js";
  document.addEventListener("DOMContentLoaded", function () {
    localValidation();
    // A problem the server found with a form: taken to it and read out, not left off-screen.
    var problem = document.querySelector("form p.error[role=alert], p.error[role=alert]#form-error");
    if (problem) {
      problem.tabIndex = -1;
      problem.scrollIntoView({ block: "center" });
      problem.focus();
    }
    Array.prototype.forEach.call(document.querySelectorAll(".map img.tile"), function (img) {
      if (img.complete && !img.naturalWidth) dropTile(img);
      else img.addEventListener("error", function () { dropTile(img); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), setupGeo);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-steps]"), setupSteps);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-cnic]"), setupCnic);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
    var keep = document.querySelector("[data-mine-ref]");
    if (keep && window.localStorage) remember(keep);
    var mineBox = document.querySelector("[data-mine]");
    if (mineBox && window.localStorage) showMine(mineBox);
    // Forms kept in the outbox when the connection is down: a report, a grant application.
    Array.prototype.forEach.call(document.querySelectorAll("form[data-outbox]"), function (form) {
      freshKey(form);
      setupForm(form);
      setupNearby(form);
      setupPinMap(form);
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-upload]"), setupUpload);
    Array.prototype.forEach.call(document.querySelectorAll("form.follow"), setupFollow);
    Array.prototype.forEach.call(document.querySelectorAll("form.alerts"), setupAlertPush);
    showAlerts();
    Array.prototype.forEach.call(document.querySelectorAll("input[data-shrink]"), shrinkInPlace);
    // A ready reply goes into the note, to be edited before it is sent.
    Array.prototype.forEach.call(document.querySelectorAll("[data-reply]"), function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var note = b.form && b.form.elements.note;
        if (!note) return;
        note.value = b.dataset.reply;
        note.focus();
      });
    });
    migrate().then(tellSent).then(function () {
      return load().then(function (list) {
        if (list.length) { say(box().dataset.pending); flush(); }
      });
    }, function () {});
    window.addEventListener("online", flush);
    setInterval(flush, 30000);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.addEventListener("message", function (ev) {
        if (ev.data && ev.data.outbox === "flushed") tellSent();
      });
      // After the page has loaded, so the first visit on 2G is not slowed by it.
      window.addEventListener("load", function () {
        navigator.serviceWorker.register("/sw.js").catch(function () {});
        // The language of the offline page, and the report forms kept for offline use.
        if (window.caches) {
          caches.open("khidmat-meta").then(function (c) {
            return c.put("/__lang", new Response(document.documentElement.lang));
          }).catch(function () {});
        }
        var save = navigator.connection && navigator.connection.saveData;
        var forms = document.querySelectorAll('a[href^="/report/"]');
        if (forms.length && window.caches && !save) {
          setTimeout(function () {
            var urls = Array.prototype.map.call(forms, function (a) { return a.getAttribute("href"); });
            caches.open("khidmat-pages").then(function (c) { return c.addAll(urls); }).catch(function () {});
          }, 4000);
        }
      });
    }
  });
})();
