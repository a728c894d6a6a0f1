// Khidmat's pages in a real browser (Debian's Chromium, headless, driven by playwright-core).
// Started by tests/it/browser.rs, which runs the server and gives us, in the environment:
//   KHIDMAT_URL     the server
//   PESCO_EMAIL, WSSP_EMAIL, STAFF_PASSWORD   officers of two departments
//   ROOT_EMAIL      a platform administrator (the outgoing SMS)
//   PESCO_KEY       a PESCO department API key, to check what the server holds
//   PHOTO           a camera-sized JPEG
//   OUT             where screenshots, the CSV and the budget figures go
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const BASE = process.env.KHIDMAT_URL;
const OUT = process.env.OUT;
const PASSWORD = process.env.STAFF_PASSWORD;
const SHOTS = `${OUT}/screenshots`;
mkdirSync(SHOTS, { recursive: true });

// Unique texts, so each flow finds its own report.
const RUN = Date.now().toString(36);
const UR_DESCRIPTION = `گلی نمبر ۴ میں کھمبے سے کنڈا لگا ہوا ہے ${RUN}`;
const UR_NOTE = `ٹیم موقع پر بھیج دی گئی ہے ${RUN}`;
const LOCALES = { en: "en-GB", ur: "ur-PK", ps: "ps-AF" };

let browser;
const shared = {};
const BROWSER_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: BROWSER_ARGS,
  });
});
after(async () => browser && browser.close());

async function context(lang, extra = {}) {
  return browser.newContext({ locale: LOCALES[lang], viewport: { width: 412, height: 860 }, ...extra });
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** The reports the PESCO department holds with this description (the staff API sees them all). */
async function reportsWith(description) {
  const res = await fetch(`${BASE}/api/v1/reports?service_code=kunda&page_size=1000`, {
    headers: { Authorization: `Bearer ${process.env.PESCO_KEY}` },
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  return body.reports.filter((r) => r.description === description);
}

async function fillKunda(page, description) {
  const groups = await page.$$eval("input[type=radio][required]", (els) => [...new Set(els.map((e) => e.name))]);
  assert.ok(groups.length >= 1, "the kunda form asks its required questions");
  for (const g of groups) await page.locator(`input[type=radio][name="${g}"]`).first().check();
  await page.fill("#description", description);
  await page.selectOption("#district", "peshawar");
  await page.fill("#address", "نزد گھنٹہ گھر");
  await page.fill("#phone", "0300 1234567");
}

async function login(page, email) {
  await page.goto(`${BASE}/staff/login`);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(/\/staff$/), page.locator("form.narrow button").click()]);
}

async function staffSetStatus(page, id, status, note) {
  await page.goto(`${BASE}/staff/reports/${id}`);
  await page.selectOption("#status", status);
  await page.fill("#note", note);
  await Promise.all([page.waitForURL(/done=status/), page.locator('form[action$="/status"] > button').click()]);
}

test("a citizen in Urdu reports with a photo and tracks it; staff update it; the citizen sees the update in Urdu", async () => {
  const ctx = await context("ur", { geolocation: { latitude: 34.0151, longitude: 71.5249 }, permissions: ["geolocation"] });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  assert.equal(await page.getAttribute("html", "lang"), "ur");
  await shot(page, "ur-home");
  await page.locator('a.tile[href="/report/kunda"]').click();
  await page.waitForURL(/\/report\/kunda$/);
  await page.locator("[data-locate]").click();
  await page.waitForFunction(() => document.querySelector("input[name=lat]").value !== "");
  await fillKunda(page, UR_DESCRIPTION);
  await page.setInputFiles("#media", process.env.PHOTO);
  await shot(page, "ur-report-form");
  await Promise.all([page.waitForURL(/\/track\/[0-9a-f]+\?new=1$/), page.locator("form.report button[type=submit]").click()]);
  const id = (await page.locator(".facts .ref").textContent()).trim();
  assert.match(id, /^\d+$/);
  assert.ok(await page.locator("svg.qr path").count(), "a QR code of the tracking link");
  // (Fluent isolates the number with invisible direction marks inside right-to-left text.)
  const sms = (await page.locator(".keep .sms").textContent()).replace(/[\u2068\u2069]/g, "");
  assert.ok(sms.includes(`STATUS ${id}`), `the SMS way to ask: ${sms}`);
  assert.ok((await page.textContent("main")).includes(UR_DESCRIPTION));
  assert.ok(await page.locator("img.photo").count(), "the photo is shown");
  assert.ok(await page.locator(".map circle").count(), "the place is on a map, tiles or not");
  await shot(page, "ur-track");
  shared.trackUrl = page.url().replace("?new=1", "");
  shared.id = id;

  const stored = await reportsWith(UR_DESCRIPTION);
  assert.equal(stored.length, 1);
  assert.ok(stored[0].media_url, "the photo reached the server");
  assert.ok(stored[0].lat > 34 && stored[0].lat < 34.1, "the phone's location was sent");

  const staff = await (await context("en")).newPage();
  await login(staff, process.env.PESCO_EMAIL);
  assert.ok(await staff.locator(`a[href="/staff/reports/${id}"]`).count(), "the report is in PESCO's inbox");
  // The officer finds it by its reference, typed on an Urdu keyboard, with the search box.
  const urduDigits = [...id].map((d) => String.fromCharCode(0x06f0 + Number(d))).join("");
  await staff.fill("#f-q", urduDigits);
  await Promise.all([staff.waitForURL(/[?&]q=/), staff.locator("form.filters button").click()]);
  assert.deepEqual(
    await staff.$$eval("table.inbox a[href^='/staff/reports/']", (as) => as.map((a) => a.getAttribute("href"))),
    [`/staff/reports/${id}`],
    "exactly that report",
  );
  assert.ok(await staff.locator(".summary").textContent(), "a count of what is shown");
  await staffSetStatus(staff, id, "in_progress", UR_NOTE);
  await staff.close();

  await page.goto(shared.trackUrl);
  const text = await page.textContent("main");
  assert.ok(text.includes("کام جاری"), "the new status, in Urdu");
  assert.ok(text.includes(UR_NOTE), "the department's note");
  await ctx.close();
});

test("the same flow with JavaScript disabled", async () => {
  const description = `No JS report ${RUN}`;
  const ctx = await context("ur", { javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/report/kunda`);
  assert.ok(await page.locator(".geo").isHidden(), "no location button without script");
  // A mistake first: the form comes back filled in, the mistake named.
  await fillKunda(page, description);
  await page.fill("#phone", "12");
  await Promise.all([page.waitForLoadState("load"), page.locator("form.report button[type=submit]").click()]);
  await page.waitForSelector(".error");
  assert.equal(await page.inputValue("#description"), description, "what was typed is kept");
  assert.equal(await page.locator("input[type=radio]:checked").count() >= 1, true, "answers are kept");
  assert.equal(await page.inputValue("#district"), "peshawar");
  await shot(page, "ur-report-form-error");
  await page.fill("#phone", "0300 1234567");
  await page.setInputFiles("#media", process.env.PHOTO);
  await Promise.all([page.waitForURL(/\/track\//), page.locator("form.report button[type=submit]").click()]);
  const id = (await page.locator(".facts .ref").textContent()).trim();
  const trackUrl = page.url();
  assert.equal((await reportsWith(description)).length, 1);

  const sctx = await context("ur", { javaScriptEnabled: false });
  const staff = await sctx.newPage();
  await login(staff, process.env.PESCO_EMAIL);
  await staffSetStatus(staff, id, "fixed", `مرمت ہو گئی ${RUN}`);
  await sctx.close();
  await page.goto(trackUrl);
  const text = await page.textContent("main");
  assert.ok(text.includes("حل ہو گیا") && text.includes(`مرمت ہو گئی ${RUN}`));
  await ctx.close();
});

test("a report sent while the network is cut is kept and sent once when it returns", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();

  // 1. The request reaches the server, but the answer never comes back.
  const lost = `Lost answer ${RUN}`;
  await page.goto(`${BASE}/report/kunda`);
  await fillKunda(page, lost);
  let dropped = false;
  await page.route("**/report/kunda", async (route) => {
    if (route.request().method() === "POST" && !dropped) {
      dropped = true;
      await route.fetch({ maxRedirects: 0 });
      await route.abort("internetdisconnected");
    } else {
      await route.continue();
    }
  });
  await page.locator("form.report button[type=submit]").click();
  await page.waitForFunction(() => {
    const s = document.querySelector(".sending");
    return s && s.textContent === s.dataset.offline;
  });
  assert.equal((await reportsWith(lost)).length, 1, "the server has it once already");
  await ctx.setOffline(true);
  await ctx.setOffline(false);
  await page.waitForSelector("#outbox a", { timeout: 15000 });
  assert.ok((await page.getAttribute("#outbox a", "href")).includes("/track/"));
  assert.equal((await reportsWith(lost)).length, 1, "sent again, filed once");
  await page.unroute("**/report/kunda");

  // 2. No network at all when the citizen presses send.
  const offline = `Offline report ${RUN}`;
  await page.goto(`${BASE}/report/kunda`);
  await fillKunda(page, offline);
  await page.setInputFiles("#media", process.env.PHOTO);
  await ctx.setOffline(true);
  await page.locator("form.report button[type=submit]").click();
  await page.waitForFunction(() => {
    const s = document.querySelector(".sending");
    return s && s.textContent === s.dataset.offline;
  });
  await shot(page, "ur-offline-saved");
  assert.equal((await reportsWith(offline)).length, 0);
  await ctx.setOffline(false);
  await page.waitForSelector("#outbox a", { timeout: 15000 });
  const kept = await reportsWith(offline);
  assert.equal(kept.length, 1, "exactly one report");
  assert.ok(kept[0].media_url, "with its photo");
  await ctx.close();
});

test("the app installs, opens without a connection, and a report queued offline is sent by Background Sync after the tab is closed", { timeout: 120000 }, async () => {
  // An ordinary (not incognito) profile: a browser offers to install only there.
  const profile = mkdtempSync(`${OUT}/profile-`);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: BROWSER_ARGS, locale: LOCALES.ur, viewport: { width: 412, height: 860 },
  });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  // Installable: the browser finds a manifest, icons and a worker that controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15000 });
  const cdp = await ctx.newCDPSession(page);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  assert.deepEqual(installabilityErrors, [], "no installability errors");
  const manifest = await cdp.send("Page.getAppManifest");
  assert.deepEqual(manifest.errors, [], "the manifest parses");
  const m = JSON.parse(manifest.data);
  assert.equal(m.lang, "ur");
  assert.equal(m.dir, "rtl");
  assert.equal(m.display, "standalone");
  assert.ok(m.icons.some((i) => i.purpose === "maskable"), "a maskable icon");
  assert.equal((await fetch(`${BASE}/favicon.ico`)).status, 200);

  // The report form, opened once, is kept.
  await page.goto(`${BASE}/report/kunda`);
  const title = await page.textContent("h1");
  await ctx.setOffline(true);
  // A page visited before opens without a connection; one never visited says so, in Urdu.
  await page.goto(`${BASE}/report/kunda`);
  assert.equal(await page.textContent("h1"), title, "the kept form");
  const never = await ctx.newPage();
  await never.goto(`${BASE}/places?never=${RUN}`);
  assert.equal(await never.getAttribute("html", "lang"), "ur");
  assert.equal((await never.textContent("h1")).trim(), "انٹرنیٹ کنکشن نہیں");
  await shot(never, "ur-offline-page");
  await never.close();

  // A report sent with no connection waits on the phone; the form is emptied for the next.
  const queued = `Queued offline ${RUN}`;
  await fillKunda(page, queued);
  await page.setInputFiles("#media", process.env.PHOTO);
  await page.locator("form.report button[type=submit]").click();
  await page.waitForFunction(() => {
    const s = document.querySelector(".sending");
    return s && s.textContent === s.dataset.offline;
  });
  assert.equal(await page.inputValue("#description"), "", "the form is emptied");
  assert.equal(await page.evaluate(() => new Promise((ok) => {
    const r = indexedDB.open("khidmat", 1);
    r.onsuccess = () => { const q = r.result.transaction("outbox").objectStore("outbox").count(); q.onsuccess = () => ok(q.result); };
  })), 1, "one report in the outbox");
  await page.close();

  // The tab is closed; the connection returns; the browser fires the sync with no Khidmat page
  // open (dispatched here through DevTools, as Chromium does on reconnecting).
  await ctx.setOffline(false);
  const blank = await ctx.newPage();
  const sw = await ctx.newCDPSession(blank);
  const registration = new Promise((ok) => sw.on("ServiceWorker.workerRegistrationUpdated", (e) => {
    const r = e.registrations.find((x) => x.scopeURL.startsWith(BASE));
    if (r) ok(r.registrationId);
  }));
  await sw.send("ServiceWorker.enable");
  const registrationId = await registration;
  let sent = [];
  for (let i = 0; i < 30 && sent.length === 0; i++) {
    if (i % 10 === 0) {
      await sw.send("ServiceWorker.dispatchSyncEvent", { origin: new URL(BASE).origin, registrationId, tag: "outbox", lastChance: false });
    }
    await new Promise((ok) => setTimeout(ok, 500));
    sent = await reportsWith(queued);
  }
  assert.equal(sent.length, 1, "sent by the worker, once");
  assert.ok(sent[0].media_url, "with its photo");
  await blank.close();

  // The next time the citizen opens Khidmat, they are told it went, and where to follow it.
  const back = await ctx.newPage();
  await back.goto(`${BASE}/`);
  await back.waitForSelector("#outbox a", { timeout: 15000 });
  assert.match(await back.getAttribute("#outbox a", "href"), /\/track\/[0-9a-f]+/);
  assert.equal((await reportsWith(queued)).length, 1, "still once");

  // A push message arrives (as tests/it/push.rs shows the server sends it, encrypted; handed
  // to the worker here through DevTools, as the browser does once it has decrypted one): the
  // citizen sees a notification in Urdu that opens the report.
  const track = new URL(await back.getAttribute("#outbox a", "href"), BASE).pathname;
  await ctx.grantPermissions(["notifications"], { origin: new URL(BASE).origin });
  const push = await ctx.newCDPSession(back);
  await push.send("ServiceWorker.enable");
  const message = { title: `رپورٹ ${sent[0].service_request_id}`, body: "کام جاری ہے: لائن ٹیم بھیج دی گئی", url: track };
  const deliver = () => Promise.race([
    push.send("ServiceWorker.deliverPushMessage", {
      origin: new URL(BASE).origin, registrationId, data: JSON.stringify(message),
    }),
    new Promise((_, no) => setTimeout(() => no(new Error("the browser did not take the push message")), 15000)),
  ]);
  // Up to 30 s: on a loaded 2-core machine the worker can take a while to show it, and a
  // message handed over before the notification permission reached the worker is shown by
  // no one (a browser's push service would deliver it again; here it is handed over again
  // every 5 s; the notifications share the report's tag, so one shows). The persistent context
  // is closed whatever happens, or node would wait on it for ever.
  let shown = null;
  try {
    for (let i = 0; i < 120 && !shown; i++) {
      if (i % 20 === 0) await deliver();
      shown = await back.evaluate(() => navigator.serviceWorker.ready.then((reg) => reg.getNotifications()).then((n) =>
        n.length ? { title: n[0].title, body: n[0].body, url: n[0].data.url } : null));
      if (!shown) await new Promise((ok) => setTimeout(ok, 250));
    }
    assert.deepEqual(shown, message, "the notification shows the message and opens the report");
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

/** The left edges of each character of `run` where it is rendered inside `selector`. */
async function glyphLefts(page, selector, run) {
  return page.evaluate(([sel, run]) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf(run);
      if (at < 0) continue;
      return [...run].map((_, i) => {
        const r = document.createRange();
        r.setStart(node, at + i);
        r.setEnd(node, at + i + 1);
        return r.getBoundingClientRect().left;
      });
    }
    return null;
  }, [selector, run]);
}

test("numbers and commands read in the right order on Urdu and Pashto pages, from where their glyphs are drawn", async () => {
  for (const lang of ["ur", "ps"]) {
    const ctx = await context(lang);
    const page = await ctx.newPage();
    // A CNIC as the example shows it: its first digit drawn left of its last.
    await page.goto(`${BASE}/benefits/browser-grant`);
    assert.equal(await page.getAttribute("html", "dir"), "rtl");
    const cnic = await glyphLefts(page, "#h-cnic", "12345-1234567-1");
    assert.ok(cnic, `${lang}: the CNIC example is on the page`);
    for (let i = 1; i < cnic.length; i++) assert.ok(cnic[i] > cnic[i - 1], `${lang}: CNIC glyph ${i} in order: ${cnic}`);
    // The SMS command: STATUS before the reference, left to right, as it must be typed.
    await page.goto(shared.trackUrl);
    const word = await glyphLefts(page, ".sms", "STATUS");
    const number = await glyphLefts(page, ".sms", shared.id);
    assert.ok(word && number, `${lang}: the SMS instruction names the command and the reference`);
    assert.ok(word[0] < word[5] && word[5] < number[0], `${lang}: STATUS then ${shared.id}: ${word} / ${number}`);
    // Following the report by push is offered where the browser can do it.
    await page.waitForSelector("form.follow:not([hidden])");
    await ctx.close();
  }
});

test("the photo control and the browser's checks speak the page's language; a camera shot is sent with the report", async () => {
  const SAID = {
    ur: { take: "تصویر کھینچیں", choose: "براہ کرم ایک چنیں۔", fill: "براہ کرم یہ خانہ پُر کریں۔", ready: "بھیجنے کے لیے تیار تصاویر" },
    ps: { take: "انځور واخلئ", choose: "مهرباني وکړئ یو وټاکئ.", fill: "مهرباني وکړئ دا ډک کړئ.", ready: "د لېږلو لپاره چمتو انځورونه" },
  };
  for (const lang of ["ur", "ps"]) {
    const ctx = await context(lang, { viewport: { width: 360, height: 740 } });
    const page = await ctx.newPage();
    await page.goto(`${BASE}/report/kunda`);
    // A big "take a photo" button that opens the camera; the browser's file inputs (which speak
    // the browser's language) are out of sight.
    const take = page.locator('label[for="media-camera"]');
    assert.ok((await take.textContent()).includes(SAID[lang].take), `${lang}: take a photo`);
    assert.equal(await page.getAttribute("#media-camera", "capture"), "environment");
    const box = await take.boundingBox();
    assert.ok(box.height >= 44 && box.width >= 300, `${lang}: a big button: ${JSON.stringify(box)}`);
    assert.ok((await page.locator("#media").boundingBox()).width <= 1, "the file input itself is hidden");
    // Sent empty: the browser stops it, with the page's words (not the browser's).
    await page.locator("form.report button[type=submit]").click();
    const radio = page.locator("input[type=radio][required]").first();
    assert.equal(await radio.evaluate((e) => e.validationMessage), SAID[lang].choose, `${lang}: a choice left out`);
    assert.match(page.url(), /\/report\/kunda$/, "nothing was sent");
    // Chosen, the message goes; a typed e-mail address that is not one gets the page's words too.
    await radio.check();
    assert.equal(await radio.evaluate((e) => e.validationMessage), "");
    // The register form: a key left empty.
    const reg = await ctx.newPage();
    await reg.goto(`${BASE}/registers/challan`);
    await reg.locator("form button").last().click();
    assert.equal(await reg.$eval("#key", (e) => e.validationMessage), SAID[lang].fill, `${lang}: a field left empty`);
    await reg.close();
    if (lang === "ur") {
      // Two camera shots: counted in Urdu and shown small, and sent (downscaled) with the report.
      const max = Number(await page.getAttribute(".photos", "data-max"));
      const description = `کیمرے کی تصویر ${RUN}`;
      await fillKunda(page, description);
      await page.setInputFiles("#media-camera", process.env.PHOTO);
      await page.waitForFunction(() => document.querySelectorAll(".photos .thumbs img").length === 1);
      await page.setInputFiles("#media-camera", process.env.PHOTO);
      const shown = Math.min(2, max);
      await page.waitForFunction((n) => document.querySelectorAll(".photos .thumbs img").length === n, shown);
      const status = (await page.textContent(".photos .photo-status")).replace(/[\u200e\u2068\u2069]/g, "");
      assert.ok(status.includes(`${SAID.ur.ready}: ${shown}`), status);
      await Promise.all([page.waitForURL(/\/track\/[0-9a-f]+\?new=1$/), page.locator("form.report button[type=submit]").click()]);
      assert.equal(await page.locator("img.photo").count(), shown, "every shot reached the report");
      const stored = await reportsWith(description);
      assert.equal(stored.length, 1);
      assert.ok(stored[0].media_url, "the photo is the report's");
      // "Your reports on this phone" on the home page lists it (this browser only); forgotten
      // on request.
      const track = new URL(page.url()).pathname;
      await page.goto(`${BASE}/`);
      await page.waitForSelector(".mine:not([hidden])");
      assert.equal(await page.locator(`.mine a[href="${track}"]`).count(), 1, "the report is in 'my reports'");
      await page.locator(".mine [data-forget]").click();
      assert.ok(await page.locator(".mine").isHidden());
      assert.equal(await page.evaluate(() => localStorage.getItem("khidmat-mine")), null);
      // An officer in Urdu filters the inbox from today, typed day first in Urdu digits.
      const staff = await ctx.newPage();
      await login(staff, process.env.PESCO_EMAIL);
      assert.equal(await staff.getAttribute("#f-from", "type"), "text", "no browser date picker in the browser's own format");
      const today = new Date(Date.now() + 5 * 3600 * 1000).toISOString().slice(0, 10).split("-").reverse().join("-");
      const urdu = [...today].map((c) => (/[0-9]/.test(c) ? String.fromCharCode(0x06f0 + Number(c)) : c)).join("");
      await staff.fill("#f-from", urdu);
      await staff.fill("#f-q", stored[0].service_request_id);
      await Promise.all([staff.waitForURL(/[?&]from=/), staff.locator("form.filters button").click()]);
      assert.equal(await staff.locator("table.inbox a[href^='/staff/reports/']").count(), 1, `the report filed today, from ${urdu}`);
      await staff.close();
    }
    await shot(page, `${lang}-photo-and-checks`);
    await ctx.close();
  }
});

test("another department's staff can neither see nor change the report", async () => {
  const ctx = await context("en");
  const page = await ctx.newPage();
  await login(page, process.env.WSSP_EMAIL);
  const csrf = await page.locator('meta[name="csrf"]').getAttribute("content");
  assert.equal(await page.locator(`a[href="/staff/reports/${shared.id}"]`).count(), 0, "not in their inbox");
  const resp = await page.goto(`${BASE}/staff/reports/${shared.id}`);
  assert.equal(resp.status(), 404, "guessing the address shows nothing");
  for (const [path, form] of [
    ["status", { csrf, status: "closed", note: "not mine" }],
    ["assign", { csrf, user_id: "" }],
    ["duplicate", { csrf, action: "dismiss" }],
  ]) {
    const r = await page.request.post(`${BASE}/staff/reports/${shared.id}/${path}`, { form, maxRedirects: 0 });
    assert.equal(r.status(), 404, `POST ${path}`);
  }
  const api = await page.request.get(`${BASE}/api/v1/reports/${shared.id}`);
  assert.equal(api.status(), 404, "nor through the API with the session");
  const csv = await (await page.request.get(`${BASE}/staff/export.csv`)).text();
  assert.ok(!csv.includes(UR_DESCRIPTION), "nor in their export");
  const [r] = await reportsWith(UR_DESCRIPTION);
  assert.equal(r.rich_status, "in_progress", "unchanged");
  await ctx.close();
});

test("the CSV export carries Urdu that Excel reads (UTF-8 with a byte order mark)", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();
  await login(page, process.env.PESCO_EMAIL);
  // The language switcher remembers Urdu in a cookie, which the download request carries too.
  await page.goto(`${BASE}/lang/ur?next=/staff`);
  assert.equal(await page.getAttribute("html", "lang"), "ur");
  const res = await page.request.get(`${BASE}/staff/export.csv?service=kunda`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-type"], /^text\/csv; charset=utf-8/);
  const bytes = await res.body();
  writeFileSync(`${OUT}/export.csv`, bytes);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], "starts with the UTF-8 BOM");
  assert.ok(bytes.includes(Buffer.from(UR_DESCRIPTION, "utf8")), "the Urdu description, as UTF-8 bytes");
  assert.ok(bytes.includes(Buffer.from("کام جاری", "utf8")), "the status, in the reader's language");
  assert.ok(!bytes.includes(Buffer.from("\ufffd", "utf8")), "nothing garbled");
  await ctx.close();
});

/** Every page, for screenshots and accessibility: [name, path, needs staff login]. */
test("a citizen in Urdu applies for a grant step by step on a phone, with a photo of a document, and checks it", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();
  await page.goto(`${BASE}/benefits/browser-grant`);
  const steps = page.locator("fieldset.step");
  assert.equal(await steps.count(), 3);
  assert.ok(await steps.nth(1).isHidden(), "one step at a time");
  const next = (i) => steps.nth(i).getByRole("button", { name: "آگے" });
  // A step with a missing answer does not move on.
  await next(0).click();
  assert.ok(await steps.nth(0).isVisible() && (await steps.nth(1).isHidden()), "the first step stays until it is complete");
  await page.fill("#cnic", "17301-7654321-2");
  await page.fill("#name", "آمنہ مسیح");
  await page.locator("input[name=gender][value=female]").check();
  await page.fill("#birth_date", "2004-05-06");
  await page.selectOption("#district", "peshawar");
  await page.fill("#phone", "0300 1234567");
  await next(0).click();
  assert.ok(await steps.nth(1).isVisible() && (await steps.nth(0).isHidden()));
  await page.fill("#monthly_income", "30,000");
  await page.fill("#dependants", "3");
  await page.fill("#a-institution", "ایڈورڈز کالج");
  // Religion is the pack's question, asked in Urdu with the pack's answers.
  const religion = page.locator("input[name='attribute[religion]'][value=christian]");
  const asked = await religion.locator("xpath=ancestor::fieldset[1]").textContent();
  assert.ok(asked.includes("مذہب") && asked.includes("مسیحی"), asked);
  await religion.check();
  await next(1).click();
  await page.setInputFiles("#doc-enrolment", process.env.PHOTO);
  // The document photo is made smaller in the browser before it is sent (2G), yet readable.
  const original = readFileSync(process.env.PHOTO).length;
  await page.waitForFunction((max) => {
    const f = document.querySelector("#doc-enrolment").files[0];
    return f && f.type === "image/jpeg" && f.size < max;
  }, original);
  const side = await page.evaluate(() => createImageBitmap(document.querySelector("#doc-enrolment").files[0]).then((b) => Math.max(b.width, b.height)));
  assert.ok(side <= 1800 && side >= 1000, `a readable size: ${side} px`);
  await shot(page, "ur-benefit-apply-step3");
  await Promise.all([page.waitForURL(/\/benefits\/slip\//), steps.nth(2).locator("button[type=submit]").click()]);
  const slip = await page.textContent("main");
  const reference = (slip.match(/B-[2-9A-Z]{4}-[2-9A-Z]{4}/) || [])[0];
  assert.ok(reference, "the slip shows the reference");
  assert.ok(slip.includes("*****-*****21-2"), "the CNIC is masked on the slip");
  assert.ok(!slip.includes("7654321"), "never whole");
  assert.equal(await page.locator("svg.qr").count(), 1);
  shared.slipPath = new URL(page.url()).pathname;
  await shot(page, "ur-benefit-slip");
  // The status check, by reference and CNIC.
  await page.goto(`${BASE}/benefits/status?reference=${reference}`);
  await page.fill("#cnic", "1730176543212");
  await Promise.all([page.waitForLoadState("load"), page.locator("main form button").click()]);
  assert.ok((await page.textContent("main")).includes("تصدیق کا انتظار"), "eligible, waiting for verification");
  await ctx.close();
});

/** An SMS from `from` as the aggregator posts it. */
async function smsIn(from, text) {
  const body = new URLSearchParams({ from, to: "8311", text, date: "2026-12-06 10:00:00", id: `${RUN}-${Math.random()}` });
  const res = await fetch(`${BASE}/channels/africastalking/sms?key=${process.env.GATEWAY_SECRET}`, { method: "POST", body });
  assert.equal(res.status, 200);
}

async function staffApi(method, path, body) {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${process.env.PESCO_KEY}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return res;
}

test("a report placed by dragging the pin lands in the pin's district (Urdu, phone)", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();
  const description = `پن والی جگہ ${RUN}`;
  await page.goto(`${BASE}/report/kunda`);
  await fillKunda(page, description); // Peshawar chosen from the list
  await page.locator("[data-pin-open]").click();
  await page.waitForSelector(".pinview .hq");
  assert.ok((await page.textContent(".pin-status")).length > 0, "the map says to put the pin down");
  // Out to where the neighbouring district shows, then the pin dragged onto Charsadda.
  for (let i = 0; i < 3; i++) await page.locator('[data-zoom="-1"]').click();
  const target = await page.locator(".pinview .hq", { hasText: "چارسدہ" }).boundingBox();
  assert.ok(target, "Charsadda is on the map");
  const pin = await page.locator(".pinview .pin").boundingBox();
  await page.mouse.move(pin.x + pin.width / 2, pin.y + pin.height * 0.35);
  await page.mouse.down();
  await page.mouse.move(target.x + 3, target.y + 3, { steps: 10 });
  await page.mouse.up();
  assert.equal(await page.inputValue("#district"), "charsadda", "the district follows the pin");
  assert.ok((await page.textContent(".pin-status")).includes("چارسدہ"));
  await page.locator("[data-pin-ok]").click();
  await shot(page, "ur-report-pin");
  await Promise.all([page.waitForURL(/\/track\/[0-9a-f]+\?new=1$/), page.locator("form.report button[type=submit]").click()]);
  const [stored] = await reportsWith(description);
  assert.equal(stored.district, "charsadda", "filed in the pin's district");
  assert.ok(Math.abs(stored.lat - 34.1453) < 0.05 && Math.abs(stored.long - 71.7308) < 0.05, `at the pin: ${stored.lat},${stored.long}`);
  await ctx.close();
});

test("reports already made near the place are shown on the form before a new one is sent", async () => {
  const ctx = await context("ur", { geolocation: { latitude: 34.0151, longitude: 71.5249 }, permissions: ["geolocation"] });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/report/kunda`);
  assert.ok(await page.locator(".nearby").isHidden(), "nothing shown before there is a place");
  await page.locator("[data-locate]").click();
  await page.waitForSelector(".nearby:not([hidden]) li a");
  const links = await page.locator(".nearby li a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  assert.ok(links.includes(`/reports/${shared.id}`), `the first flow's report, made here: ${links}`);
  await shot(page, "ur-report-nearby");
  await ctx.close();
});

test("the reporter adds a photo with progress shown, a follower hears of the fix, 'not fixed' by SMS reopens it, and the rating reaches the dashboard", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();
  const description = `دوسری تصویر ${RUN}`;
  const phone = "0345 7654321";
  await page.goto(`${BASE}/report/kunda`);
  await fillKunda(page, description);
  await page.fill("#phone", phone);
  await page.setInputFiles("#media", process.env.PHOTO);
  await Promise.all([page.waitForURL(/\/track\/[0-9a-f]+\?new=1$/), page.locator("form.report button[type=submit]").click()]);
  const track = page.url().replace("?new=1", "");
  const id = (await page.locator(".facts .ref").textContent()).trim();
  assert.equal(await page.locator("img.photo").count(), 1);

  // An update with a second photo, sent over a slow upload: the bar and the bytes show.
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 300, downloadThroughput: 240000 / 8, uploadThroughput: 60000 / 8 });
  await page.fill("#note", `اب بھی کنڈا لگا ہے ${RUN}`);
  await page.setInputFiles("#update-media", process.env.PHOTO);
  await page.locator("form.citizen-update button[type=submit]").click();
  await page.waitForFunction(() => {
    const bar = document.querySelector("form.citizen-update progress.upload");
    return bar && !bar.hidden && bar.value > 0;
  });
  const said = await page.textContent("form.citizen-update .sending");
  assert.match(said.replace(/[\u200e\u2068\u2069]/g, ""), /\d+.*\d+\s*KB/, `the bytes sent are said: ${said}`);
  await shot(page, "ur-update-progress");
  await page.waitForURL(/done=update/, { timeout: 60000 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.ok((await page.locator("ol.history li.citizen").textContent()).includes(`اب بھی کنڈا لگا ہے ${RUN}`));
  assert.equal(await page.locator("img.photo").count(), 2, "the second photo is on the report");

  // A neighbour follows it by SMS; the department marks it fixed; the neighbour is told.
  await smsIn("+923331112223", `FOLLOW ${id}`);
  let r = await staffApi("POST", `/api/v1/reports/${id}/updates`, { status: "fixed", note: `Hooks removed ${RUN}` });
  assert.equal(r.status, 201);
  r = await staffApi("GET", `/api/v1/reports/${id}`);
  assert.equal((await r.json()).rich_status, "fixed");
  // Asked "is it fixed?" by SMS (at once here); the reporter answers 2, with words: reopened.
  let status = "fixed";
  for (let i = 0; i < 20 && status === "fixed"; i++) {
    await new Promise((ok) => setTimeout(ok, 500));
    await smsIn("+923457654321", `۲ ابھی تک ٹھیک نہیں ${RUN}`);
    status = (await (await staffApi("GET", `/api/v1/reports/${id}`)).json()).rich_status;
  }
  assert.equal(status, "open", "'not fixed' by SMS reopens the report");
  await smsIn("+923457654321", "2");
  await page.goto(track);
  assert.ok((await page.textContent("ol.history")).includes(`ابھی تک ٹھیک نہیں ${RUN}`), "the citizen's words are on the report");
  await shot(page, "ur-track-reopened");

  // The follower was sent the change, in the outgoing SMS an administrator sees (numbers masked).
  const admin = await (await context("en")).newPage();
  await login(admin, process.env.ROOT_EMAIL);
  await admin.goto(`${BASE}/staff/messages`);
  const sentToFollower = await admin.locator("tbody tr").filter({ hasText: `Hooks removed ${RUN}` }).allTextContents();
  assert.ok(sentToFollower.some((row) => row.includes("**23") && row.includes("STOP")), `the follower's SMS: ${sentToFollower.join(" | ")}`);
  assert.ok(sentToFollower.some((row) => row.includes("**21")), "and the reporter's");

  // The department's dashboard shows the answer and its rating.
  const staff = await (await context("en")).newPage();
  await login(staff, process.env.PESCO_EMAIL);
  await staff.goto(`${BASE}/staff/dashboard`);
  const outcomes = await staff.locator("table[data-outcomes]").first().textContent();
  assert.ok(outcomes.includes("100%") && outcomes.includes("2.0"), `one answer, "not fixed", rated 2: ${outcomes}`);
  await ctx.close();
});

test("on the tracking page the reporter answers 'is it fixed?' and rates it; anyone may follow by e-mail", async () => {
  const ctx = await context("en");
  const page = await ctx.newPage();
  const description = `answered on the web ${RUN}`;
  await page.goto(`${BASE}/report/kunda`);
  await fillKunda(page, description);
  await page.fill("#phone", "");
  await Promise.all([page.waitForURL(/\/track\/[0-9a-f]+\?new=1$/), page.locator("form.report button[type=submit]").click()]);
  const track = page.url().replace("?new=1", "");
  const id = (await page.locator(".facts .ref").textContent()).trim();
  assert.equal(await page.locator("form.outcome").count(), 0, "not asked before a fix");
  assert.equal((await staffApi("POST", `/api/v1/reports/${id}/updates`, { status: "fixed", note: "Meter sealed" })).status, 201);
  await page.goto(track);
  await page.locator("form.outcome input[name=fixed][value=yes]").check();
  await page.locator("form.outcome input[name=rating][value='4']").check();
  await shot(page, "en-track-fixed-question");
  await Promise.all([page.waitForURL(/done=fixed/), page.locator("form.outcome button[type=submit]").click()]);
  assert.ok((await page.textContent("main")).includes("closed as fixed"));
  assert.equal((await (await staffApi("GET", `/api/v1/reports/${id}`)).json()).rich_status, "closed");
  // Following by e-mail from the public page: a link is mailed, nothing else yet.
  await page.goto(`${BASE}/reports/${id}`);
  await page.fill("#follow-email", "neighbour@example.org");
  await Promise.all([page.waitForURL(/done=mailed/), page.locator(".follow-others button[type=submit]").click()]);
  assert.ok((await page.textContent("main")).includes("open the link"));
  await ctx.close();
});

test("a grant application the server refuses keeps its two documents and succeeds sent again without them; the CNIC rules are checked before sending", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();
  await page.goto(`${BASE}/benefits/browser-grant`);
  const steps = page.locator("fieldset.step");
  const next = (i) => steps.nth(i).getByRole("button", { name: "آگے" });
  // The gender digit is checked in the browser, with the server's words: no upload to learn it.
  await page.fill("#cnic", "17301-1122334-4");
  await page.locator("input[name=gender][value=male]").check();
  await page.fill("#name", "ثنا مسیح");
  await page.fill("#birth_date", "2004-05-06");
  await page.selectOption("#district", "peshawar");
  await next(0).click();
  assert.ok(await steps.nth(1).isHidden(), "a man's CNIC ends in an odd digit: the step does not move on");
  assert.ok((await page.$eval("#cnic", (e) => e.validationMessage)).length > 0);
  await page.locator("input[name=gender][value=female]").check();
  // The earlier applicant's CNIC (a slip of the finger): only the server can know it is taken.
  await page.fill("#cnic", "17301-7654321-2");
  await next(0).click();
  await page.fill("#monthly_income", "30,000");
  await page.fill("#dependants", "2");
  await page.fill("#a-institution", "ایڈورڈز کالج");
  await page.locator("input[name='attribute[religion]'][value=christian]").check();
  await next(1).click();
  await page.setInputFiles("#doc-enrolment", process.env.PHOTO);
  await page.setInputFiles("#doc-fee", process.env.PHOTO);
  await page.waitForFunction(() => ["#doc-enrolment", "#doc-fee"].every((s) => {
    const f = document.querySelector(s).files[0];
    return f && f.type === "image/jpeg";
  }));
  await steps.nth(2).locator("button[type=submit]").click();
  await page.waitForSelector("p.error[role=alert]");
  assert.equal(await page.locator("p.kept").count(), 2, "both documents are kept");
  await shot(page, "ur-benefit-refused-kept");
  assert.ok((await page.textContent("p.error[role=alert]")).length > 0, "the server's reason is shown");
  // Corrected and sent again with no file chosen (none is sent), and it succeeds.
  assert.equal(await page.$eval("#doc-enrolment", (e) => e.files.length + (e.required ? 1 : 0)), 0, "nothing to choose again");
  await page.fill("#cnic", "17301-1122334-4");
  const form = page.locator("form[data-steps]");
  await form.evaluate((f) => { f.querySelectorAll("fieldset.step").forEach((s) => { s.hidden = false; }); });
  await Promise.all([page.waitForURL(/\/benefits\/slip\//), page.locator("fieldset.step button[type=submit]").click()]);
  const reference = ((await page.textContent("main")).match(/B-[2-9A-Z]{4}-[2-9A-Z]{4}/) || [])[0];
  await page.goto(`${BASE}/benefits/status?reference=${reference}`);
  await page.fill("#cnic", "1730111223344");
  await Promise.all([page.waitForLoadState("load"), page.locator("main form button").click()]);
  assert.ok((await page.textContent("main")).includes("تصدیق کا انتظار"), "eligible: the kept enrolment document counts");
  await ctx.close();
});

test("alerts for an area, asked for in Urdu on a phone: the push button is offered, a missing place is said, e-mail needs a confirmation", async () => {
  const ctx = await context("ur", { viewport: { width: 360, height: 740 } });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/reports`);
  await Promise.all([page.waitForURL(/\/alerts$/), page.locator('a[href="/alerts"]').first().click()]);
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  // This browser can push: the button shows; without a district or a location it says so.
  await page.waitForSelector(".alert-push:not([hidden])");
  await page.locator("[data-alert-push]").click();
  assert.equal((await page.textContent(".alert-push-status")).trim(), "ضلع چنیں، یا اپنی جگہ استعمال کریں۔");
  // By e-mail: a confirmation link is mailed first.
  await page.selectOption("#district", "peshawar");
  await page.fill("#email", `alert-${RUN}@example.org`);
  await Promise.all([page.waitForLoadState("load"), page.locator("form.alerts button[type=submit]").click()]);
  assert.ok((await page.textContent("main")).includes("لنک ای میل"), "told to confirm, in Urdu");
  await shot(page, "ur-alerts-mailed");
  await ctx.close();
});

/** A complete Urdu application to the test fund, up to its send button; with its enrolment
 *  document unless `document` is false (then it is sent without one, and is not eligible). */
async function fillGrant(page, cnic, document = true) {
  const steps = page.locator("fieldset.step");
  const next = (i) => steps.nth(i).getByRole("button", { name: "آگے" });
  await page.fill("#cnic", cnic);
  await page.fill("#name", "مریم مسیح");
  await page.locator("input[name=gender][value=female]").check();
  // Typed day first, in Urdu digits, as the hint says.
  await page.fill("#birth_date", "۰۶-۰۵-۲۰۰۴");
  await page.selectOption("#district", "peshawar");
  await next(0).click();
  await page.fill("#monthly_income", "25,000");
  await page.fill("#a-institution", "ایڈورڈز کالج");
  await page.locator("input[name='attribute[religion]'][value=christian]").check();
  await next(1).click();
  if (document) {
    await page.setInputFiles("#doc-enrolment", process.env.PHOTO);
    await page.waitForFunction(() => {
      const f = window.document.querySelector("#doc-enrolment").files[0];
      return f && f.type === "image/jpeg";
    });
  } else {
    await page.$eval("#doc-enrolment", (e) => { e.required = false; });
  }
  return steps.nth(2).locator("button[type=submit]");
}

test("a grant application sent without a connection waits on the phone with its document and is filed once when it returns", async () => {
  const ctx = await context("ur");
  const page = await ctx.newPage();

  // 1. The application reaches the server, the answer never comes back: sent again from the
  //    outbox, the same slip (not "already applied"). (Without a document: the test's stand-in
  //    for the lost answer, Playwright's route.fetch, does not carry a file's bytes.)
  await page.goto(`${BASE}/benefits/browser-grant`);
  const send = await fillGrant(page, "17301-5550001-2", false);
  let first = null;
  await page.route("**/benefits/browser-grant/apply", async (route) => {
    if (first === null) {
      const res = await route.fetch({ maxRedirects: 0 });
      first = res.headers()["location"] || "";
      await route.abort("internetdisconnected");
    } else {
      await route.continue();
    }
  });
  await send.click();
  await page.waitForFunction(() => {
    const s = document.querySelector("form[data-steps] .sending");
    return s && s.textContent === s.dataset.offline;
  });
  assert.match(first, /\/benefits\/slip\/[0-9a-f]+/, "the server filed it the first time");
  await ctx.setOffline(true);
  await ctx.setOffline(false);
  await page.waitForSelector("#outbox a", { timeout: 15000 });
  const again = await page.getAttribute("#outbox a", "href");
  assert.equal(new URL(again, BASE).pathname, new URL(first, BASE).pathname, "sent again: the first slip");
  await page.unroute("**/benefits/browser-grant/apply");

  // 2. No connection at all: kept with its document photo, the form back at its first step;
  //    sent by itself when the connection returns, and the slip is the citizen's.
  await page.goto(`${BASE}/benefits/browser-grant`);
  const send2 = await fillGrant(page, "17301-5550002-4");
  await ctx.setOffline(true);
  await send2.click();
  await page.waitForFunction(() => {
    const s = document.querySelector("form[data-steps] .sending");
    return s && s.textContent === s.dataset.offline;
  });
  assert.ok(await page.locator("fieldset.step").first().isVisible(), "the emptied form starts again at its first step");
  await shot(page, "ur-benefit-offline-saved");
  await ctx.setOffline(false);
  await page.waitForSelector("#outbox a", { timeout: 15000 });
  const slip = await page.getAttribute("#outbox a", "href");
  assert.match(slip, /\/benefits\/slip\//);
  await page.goto(new URL(slip, BASE).href);
  const text = await page.textContent("main");
  assert.ok(text.includes("*****-*****02-4"), `the slip of this CNIC, masked: ${text}`);
  await ctx.close();
});

function pages() {
  const place = `/places/${shared.placeUuid}`;
  return [
    ["places", "/places", false],
    ["places-near", "/places?kind=public-toilet&district=peshawar", false],
    ["place", place, false],
    ["place-review", `${place}/review`, false],
    ["place-suggest", "/places/suggest?kind=public-toilet", false],
    ["staff-directory", "/staff/directory", true],
    ["data", "/data", false],
    ["data-dataset", "/data/directory-places", false],
    ["data-preview", `/data/directory-places/${shared.dataResource}?sort=name&dir=asc`, false],
    ["home", "/", false],
    ["report-form", "/report/kunda", false],
    ["track", new URL(shared.trackUrl).pathname, false],
    ["reports", "/reports?status=all", false],
    ["map", "/reports/map?status=all", false],
    ["alerts", "/alerts", false],
    ["public-report", `/reports/${shared.id}`, false],
    ["not-found", "/reports/999999999", false],
    ["staff-login", "/staff/login", false],
    ["staff-inbox", "/staff", true],
    ["staff-report", `/staff/reports/${shared.id}`, true],
    ["staff-dashboard", "/staff/dashboard", true],
    ["benefits", "/benefits", false],
    ["benefit-fund", "/benefits/browser-grant", false],
    ["benefit-slip", shared.slipPath, false],
    ["benefit-status", "/benefits/status", false],
    ["staff-benefits", "/staff/benefits", true],
    ["staff-cases", "/staff/cases", true],
    ["impact", "/impact", false],
    ["impact-report", "/impact/report", false],
    ["programme", "/programme", false],
    ["programme-apply", "/programme/browser-cycle/apply", false],
    ["registers", "/registers", false],
    ["register", "/registers/licence", false],
    ["register-check", "/registers/licence/check?key=KHT-345354", false],
    ["info", "/info?q=helmet", false],
    ["info-fines", "/info/fine-schedule", false],
    ["info-signs", "/info/traffic-signs", false],
    ["theory", "/theory/driving-theory", false],
    ["me", "/me", false],
    ["campaigns", "/campaigns", false],
    ["campaign", `/campaigns/p/${shared.campaignId}`, false],
    ["campaign-org", "/campaigns/organisations/new", false],
  ];
}

test("a department manager adds a reporting service with an Urdu list question: at once on the home page, in Open311 and in the USSD menu", async () => {
  const ctx = await context("en");
  const page = await ctx.newPage();
  await login(page, process.env.WSSP_MANAGER_EMAIL);
  await page.goto(`${BASE}/staff/admin`);
  assert.ok(await page.locator("#readiness").count(), "the hand-over checks");
  await page.goto(`${BASE}/staff/admin/services/new`);
  await page.fill("#code", "low-pressure");
  await page.fill("#name_en", "Low water pressure");
  await page.fill("#name_ur", "پانی کا کم دباؤ");
  await page.fill("#name_ps", "د اوبو کم فشار");
  await page.fill("#a0_code", "when");
  await page.selectOption("#a0_type", "singlevaluelist");
  await page.check("#q0 input[name=a0_required]");
  await page.fill("#a0_q_en", "When is the pressure low?");
  await page.fill("#a0_q_ur", "دباؤ کب کم ہوتا ہے؟");
  await page.fill("#a0_values", "morning = Morning | صبح | سهار\nevening = Evening | شام | ماښام");
  await Promise.all([page.waitForURL(/\/staff\/admin\?department=wssp/), page.locator("#service-form button.big").click()]);
  assert.ok(await page.locator('tr[data-service="low-pressure"]').count(), "listed on the administration page");
  await ctx.close();

  const home = await (await context("ur")).newPage();
  await home.goto(`${BASE}/`);
  assert.ok((await home.content()).includes("پانی کا کم دباؤ"), "on the citizen home page, in Urdu");
  await home.goto(`${BASE}/report/low-pressure`);
  assert.ok((await home.content()).includes("صبح"), "its Urdu choices on the report form");
  const services = await (await fetch(`${BASE}/open311/v2/services.json`)).json();
  assert.ok(services.some((s) => s.service_code === "low-pressure"), "in Open311 services.json");
  const ussd = async (text) => {
    const body = new URLSearchParams({ sessionId: "browser-ussd", serviceCode: "*384#", phoneNumber: "+923009998877", text });
    return (await fetch(`${BASE}/channels/africastalking/ussd?key=${process.env.GATEWAY_SECRET}`, { method: "POST", body })).text();
  };
  await ussd("");
  let path = "1";
  let menu = await ussd(path);
  let wssp;
  for (;;) {
    const line = menu.split("\n").find((l) => l.includes("WSSP") || l.includes("Water and Sanitation"));
    if (line) { wssp = line.replace(/^CON /, "").split(" ")[0]; break; }
    assert.ok(menu.includes("0 More"), `WSSP on the USSD menu: ${menu}`);
    path += "*0";
    menu = await ussd(path);
  }
  const services_menu = await ussd(`${path}*${wssp}`);
  const more = services_menu.includes("Low water pressure") ? services_menu : await ussd(`${path}*${wssp}*0`);
  assert.ok(more.includes("Low water pressure"), `in the USSD menu: ${services_menu}`);
});

test("screenshots of every page in English and Urdu; axe finds nothing serious in any language", async () => {
  const res = await fetch(`${BASE}/hsds/service_at_locations?lat=34.0046&long=71.5589&proximity=500`);
  shared.placeUuid = (await res.json()).contents[0].location_id;
  const data = await fetch(`${BASE}/api/3/action/package_show?id=directory-places`);
  shared.dataResource = (await data.json()).result.resources[0].id;
  const campaigns = await fetch(`${BASE}/api/v1/campaigns/projects`);
  shared.campaignId = (await campaigns.json()).projects[0].id;
  // axe is evaluated through the DevTools protocol: the pages' Content-Security-Policy forbids
  // inline script, as it should, and everything the pages do themselves must work under it.
  const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  const problems = [];
  for (const lang of ["en", "ur", "ps"]) {
    const ctx = await context(lang);
    const page = await ctx.newPage();
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) problems.push(`${lang} ${page.url()}: ${m.text()}`);
    });
    let loggedIn = false;
    for (const [name, path, staff] of pages()) {
      if (staff && !loggedIn) {
        await login(page, process.env.PESCO_EMAIL);
        loggedIn = true;
      }
      await page.goto(`${BASE}${path}`);
      assert.equal(await page.getAttribute("html", "lang"), lang, `${name} in ${lang}`);
      if (lang !== "ps") await shot(page, `${lang}-${name}`);
      await page.evaluate(axeSource);
      const result = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
      for (const v of result.violations) {
        if (v.impact === "serious" || v.impact === "critical") {
          problems.push(`${lang} ${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
        }
      }
    }
    await ctx.close();
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});

test("budgets: citizen pages on a 2G-class connection (400 kbit/s, 300 ms)", async () => {
  const figures = [];
  for (const lang of ["en", "ur"]) {
    for (const [name, path, staff] of pages()) {
      if (staff || name === "not-found" || name === "staff-login" || name === "place-review") continue;
      const ctx = await context(lang); // a cold cache: the first visit
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false, latency: 300, downloadThroughput: 400000 / 8, uploadThroughput: 400000 / 8,
      });
      const urls = new Map();
      let bytes = 0;
      let excluded = 0;
      cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
      cdp.on("Network.loadingFinished", (e) => {
        const url = urls.get(e.requestId) || "";
        // Photos and map tiles are outside the budget.
        if (url.includes("/photos/") || url.startsWith("http://127.0.0.1:9/")) excluded += e.encodedDataLength;
        else bytes += e.encodedDataLength;
      });
      const t0 = Date.now();
      await page.goto(`${BASE}${path}`, { waitUntil: "load" });
      const ms = Date.now() - t0;
      figures.push({ lang, page: name, kb: +(bytes / 1024).toFixed(1), excluded_kb: +(excluded / 1024).toFixed(1), load_ms: ms });
      await ctx.close();
    }
  }
  console.log("page budgets (transferred, compressed; load event on 400 kbit/s + 300 ms):");
  for (const f of figures) console.log(`  ${f.lang} ${f.page.padEnd(14)} ${String(f.kb).padStart(6)} KB  ${String(f.load_ms).padStart(5)} ms`);
  writeFileSync(`${OUT}/budgets.json`, JSON.stringify(figures, null, 2));
  const over = figures.filter((f) => f.kb > 30);
  assert.deepEqual(over, [], "every citizen page within 30 KB");
});
