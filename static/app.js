// Khidmat: a little script on top of pages that work without it.
// - "use my location" fills the report form's lat/long;
// - a photo is scaled down in the browser before upload (a 4 MB camera photo becomes ~150 KB);
// - a report sent while the connection is down is kept on the phone (localStorage) and sent
//   when the connection returns, with the same idempotency key, so it is never lost and never
//   filed twice;
// - a form marked data-steps (an application) shows one step at a time on a small screen,
//   checking each step's answers before the next;
// - a print button where a page has one.
(function () {
  "use strict";
  var KEY = "khidmat-outbox";
  var photo = null;
  var busy = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function store(list) {
    try { localStorage.setItem(KEY, JSON.stringify(list)); return true; } catch (e) { return false; }
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
  }

  function toData(blob) {
    return new Promise(function (ok) {
      var r = new FileReader();
      r.onload = function () { ok(r.result); };
      r.onerror = function () { ok(null); };
      r.readAsDataURL(blob);
    });
  }
  function fromData(url) {
    var parts = url.split(","), bytes = atob(parts[1]), buf = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) buf[i] = bytes.charCodeAt(i);
    return new Blob([buf], { type: "image/jpeg" });
  }

  // The form token is this page's: the one kept with the report was bound to the sessions of
  // its day, and the citizen may have signed in or out since.
  function post(entry) {
    var fd = new FormData();
    var meta = document.querySelector('meta[name="csrf"]');
    entry.fields.forEach(function (kv) {
      fd.append(kv[0], kv[0] === "csrf" && meta ? meta.content : kv[1]);
    });
    if (entry.photo) fd.append("media", fromData(entry.photo), "photo.jpg");
    return fetch(entry.action, { method: "POST", body: fd, credentials: "same-origin" });
  }

  // Send what is waiting in the outbox. A network failure leaves it there for the next try.
  function flush() {
    var list = load();
    if (busy || !list.length || navigator.onLine === false) return;
    busy = true;
    var b = box();
    var entry = list[0];
    post(entry).then(function (res) {
      store(load().filter(function (e) { return e.key !== entry.key; }));
      if (res.ok && res.url.indexOf("/track/") >= 0) {
        say(b.dataset.sent, res.url, b.dataset.open);
      } else {
        say(b.dataset.refused, entry.action, b.dataset.open);
      }
      busy = false;
      flush();
    }, function () {
      busy = false;
      say(b.dataset.pending);
    });
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
        if (button.hasAttribute("data-submit")) form.submit();
      }, function () {
        status.textContent = status.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }

  function setupForm(form) {
    var input = form.querySelector("input[data-downscale]");
    if (input) {
      input.addEventListener("change", function () {
        photo = null;
        if (input.files && input.files[0]) {
          downscale(input.files[0], +input.dataset.downscale).then(function (b) { photo = b; });
        }
      });
    }
    if (!window.fetch || !window.FormData) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = form.querySelector(".sending");
      var button = form.querySelector("button[type=submit]");
      note.textContent = note.dataset.sending;
      note.hidden = false;
      button.disabled = true;
      var fields = [];
      new FormData(form).forEach(function (v, k) {
        if (typeof v === "string") fields.push([k, v]);
      });
      var chosen = photo || (input && input.files && input.files[0]) || null;
      var entry = { action: form.action, key: form.elements.idempotency_key.value, fields: fields, photo: null };
      (chosen ? toData(chosen) : Promise.resolve(null)).then(function (data) {
        entry.photo = data;
        // Kept before sending: if the page dies mid-send, the report is still on the phone.
        var list = load().filter(function (e) { return e.key !== entry.key; });
        list.push(entry);
        store(list);
        return post(entry);
      }).then(function (res) {
        store(load().filter(function (e) { return e.key !== entry.key; }));
        if (res.redirected || res.url.indexOf("/track/") >= 0) {
          location.href = res.url;
          return;
        }
        return res.text().then(function (html) {
          document.open();
          document.write(html);
          document.close();
        });
      }, function () {
        note.textContent = note.dataset.offline;
        button.disabled = false;
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
    show(0);
  }

  // A map tile that could not be fetched leaves an empty frame: take it away.
  function dropTile(img) { if (img.parentNode) img.parentNode.removeChild(img); }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".map img.tile"), function (img) {
      if (img.complete && !img.naturalWidth) dropTile(img);
      else img.addEventListener("error", function () { dropTile(img); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), setupGeo);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-steps]"), setupSteps);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
    var form = document.querySelector("form[data-outbox]");
    if (form) setupForm(form);
    if (load().length) {
      say(box().dataset.pending);
      flush();
    }
    window.addEventListener("online", flush);
    setInterval(flush, 30000);
  });
})();
