// Department administration in a real browser (Debian's Chromium, headless, driven by
// playwright-core), run by tests/it/browser.rs once on SQLite and once on PostgreSQL. It gives:
//   KHIDMAT_URL          the server
//   ROOT_EMAIL           a platform administrator
//   WSSP_MANAGER_EMAIL   WSSP's one manager (an officer exists too)
//   STAFF_PASSWORD       their password
//   MAILBOX              the file the server's sendmail appends each message to
//   OUT                  where screenshots go
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

const BASE = process.env.KHIDMAT_URL;
const PASSWORD = process.env.STAFF_PASSWORD;
const SHOTS = `${process.env.OUT}/screenshots`;
const BACKEND = process.env.BACKEND;
mkdirSync(SHOTS, { recursive: true });

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});
after(async () => browser && browser.close());

async function staff(email) {
  const ctx = await browser.newContext({ locale: "en-GB", viewport: { width: 1024, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/staff/login`);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(/\/staff$/), page.locator("form.narrow button").click()]);
  return page;
}

/** Submit the form that holds `selector`, and wait for the page it leads to. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.locator(selector).click()]);
}

/** The readiness checks on the manager's administration page: code -> ok. */
async function checks(page) {
  await page.goto(`${BASE}/staff/admin`);
  const rows = await page.$$eval("#checks tr[data-check]", (trs) => trs.map((t) => [t.dataset.check, t.dataset.ok === "true"]));
  return Object.fromEntries(rows);
}

/** The last e-mailed link to set a password for `to`, read from the mailbox as a mail reader would. */
function passwordLink(to) {
  assert.ok(existsSync(process.env.MAILBOX), "the server handed mail to sendmail");
  const messages = readFileSync(process.env.MAILBOX, "utf8").split("\n--- end of message ---\n");
  const mine = messages.filter((m) => m.includes(`To: ${to}`));
  assert.ok(mine.length > 0, `a message to ${to}`);
  const last = mine[mine.length - 1];
  const body = Buffer.from(last.split("\r\n\r\n")[1].replace(/\s+/g, ""), "base64").toString("utf8");
  const m = body.match(/\/staff\/password\/[A-Za-z0-9_-]+/);
  assert.ok(m, `a link in: ${body}`);
  return m[0];
}

test("a department manager cannot make anyone a platform administrator", async () => {
  const page = await staff(process.env.WSSP_MANAGER_EMAIL);
  await page.goto(`${BASE}/staff/admin`);
  const roles = await page.$$eval("#i-role option", (os) => os.map((o) => o.value));
  assert.deepEqual(roles, ["officer", "manager"], "the form offers no platform role");
  // A tampered form: the option added by hand, as anyone could with the browser's tools.
  await page.evaluate(() => {
    const o = document.createElement("option");
    o.value = "admin";
    o.textContent = "Platform administrator";
    document.querySelector("#i-role").append(o);
  });
  await page.fill("#i-name", "Usurper");
  await page.fill("#i-email", "usurper@wssp.test");
  await page.selectOption("#i-role", "admin");
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/staff/admin/users") && r.request().method() === "POST"),
    page.locator('form[action="/staff/admin/users"] button').click(),
  ]);
  assert.equal(res.status(), 403);
  assert.ok((await page.content()).includes("only a platform administrator makes platform administrators"));
  await page.goto(`${BASE}/staff/admin`);
  assert.equal(await page.locator('tr[data-user="usurper@wssp.test"]').count(), 0, "nobody was added");
  await page.context().close();
});

test("the hand-over readiness turns green as each check is met", async () => {
  const manager = await staff(process.env.WSSP_MANAGER_EMAIL);
  const root = await staff(process.env.ROOT_EMAIL);
  let c = await checks(manager);
  assert.equal(await manager.getAttribute("[data-ready]", "data-ready"), "false");
  assert.deepEqual(
    [c.maintainer, c.administrators, c.backup, c.gateway, c.trained],
    [false, false, false, false, false],
    JSON.stringify(c),
  );
  assert.ok(c.staffed && c.overdue, JSON.stringify(c));
  await shot(manager, `${BACKEND}-readiness-red`);

  // A maintainer named.
  await manager.fill("#m-name", "Engr. Farhan Ali");
  await manager.fill("#m-contact", "0300 5556677");
  await submit(manager, 'form[action="/staff/admin/maintainer"] button');
  c = await checks(manager);
  assert.ok(c.maintainer && !c.administrators);

  // A second manager, invited by e-mail, sets a password from the link.
  await manager.fill("#i-name", "Saima Noor");
  await manager.fill("#i-email", "saima@wssp.test");
  await manager.selectOption("#i-role", "manager");
  await submit(manager, 'form[action="/staff/admin/users"] button');
  let link;
  for (let i = 0; i < 50 && !link; i++) {
    try { link = passwordLink("saima@wssp.test"); } catch { await new Promise((r) => setTimeout(r, 200)); }
  }
  link = link || passwordLink("saima@wssp.test");
  const saima = await (await browser.newContext({ locale: "en-GB" })).newPage();
  await saima.goto(`${BASE}${link}`);
  assert.ok((await saima.content()).includes("Saima Noor"));
  await saima.fill("#password", "another long enough password");
  await Promise.all([saima.waitForURL(/\/staff\/login/), saima.locator("form.narrow button").click()]);
  await saima.fill("#email", "saima@wssp.test");
  await saima.fill("#password", "another long enough password");
  await Promise.all([saima.waitForURL(/\/staff$/), saima.locator("form.narrow button").click()]);
  await saima.context().close();
  c = await checks(manager);
  assert.ok(c.administrators, JSON.stringify(c));

  // The platform administrator chooses a real SMS gateway on the site settings page.
  await root.goto(`${BASE}/staff/admin/site`);
  await root.selectOption("#gateway-kind", "smssync");
  await submit(root, 'form[action="/staff/admin/site/gateway"] button.button');
  assert.equal(await root.getAttribute("[data-gateway]", "data-gateway"), "smssync");
  c = await checks(manager);
  assert.ok(c.gateway, JSON.stringify(c));

  // … and backs up now, from the health page.
  await root.goto(`${BASE}/staff/admin/health`);
  await submit(root, "#backup-now");
  for (let i = 0; i < 50 && !c.backup; i++) {
    await new Promise((r) => setTimeout(r, 200));
    c = await checks(manager);
  }
  assert.ok(c.backup, JSON.stringify(c));

  // Two officials' training recorded on the programme's partner page.
  for (const [name, day] of [["Gul Rehman", "2026-11-02"], ["Shazia Khan", "2026-11-03"]]) {
    await root.goto(`${BASE}/staff/programme/partners/wssp#training`);
    await root.fill("#tr-name", name);
    await root.fill("#tr-des", "Sub-engineer");
    await root.fill("#tr-course", "Khidmat for officers");
    await root.fill("#tr-on", day);
    await submit(root, 'form[action$="/training"] button');
  }
  c = await checks(manager);
  assert.ok(Object.values(c).every(Boolean), JSON.stringify(c));
  assert.equal(await manager.getAttribute("[data-ready]", "data-ready"), "true");
  await shot(manager, `${BACKEND}-readiness-green`);
  await manager.context().close();
  await root.context().close();
});

test("a pack export, edited and imported after its preview; a pack for another department refused", async () => {
  const page = await staff(process.env.WSSP_MANAGER_EMAIL);
  await page.goto(`${BASE}/staff/admin`);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator('a[href^="/staff/admin/pack?department=wssp"]').click(),
  ]);
  assert.equal(download.suggestedFilename(), "wssp-config.toml");
  const exported = readFileSync(await download.path(), "utf8");
  assert.ok(exported.includes("[[reports.service]]") && exported.includes("[[directory.kind]]"), exported.slice(0, 400));

  // Edited as a text editor would: the first service's promised response time.
  const at = exported.indexOf("[[reports.service]]");
  const end = exported.indexOf("\n[[", at + 1);
  const first = exported.slice(at, end < 0 ? undefined : end);
  const code = first.match(/^code = "([a-z0-9-]+)"$/m)[1];
  const hours = first.match(/^response_hours = (\d+)$/m)[1];
  const edited = exported.replace(first, first.replace(`response_hours = ${hours}`, `response_hours = ${Number(hours) + 24}`));
  await page.goto(`${BASE}/staff/admin#pack`);
  await page.fill("#pack-text", edited);
  await submit(page, 'form[action="/staff/admin/pack/preview"] button');
  const changed = page.locator(`#changes li[data-changed="${code}"]`);
  assert.equal(await changed.count(), 1, await page.content());
  assert.ok((await changed.textContent()).includes(`response hours: ${hours} → ${Number(hours) + 24}`));
  assert.equal(await page.locator("#refused").count(), 0);
  await shot(page, `${BACKEND}-pack-preview`);
  await submit(page, 'form[action="/staff/admin/pack/import"] button');
  assert.ok(page.url().includes("/staff/admin?department=wssp"), page.url());
  const def = await (await fetch(`${BASE}/open311/v2/services.json`)).json();
  assert.ok(def.some((s) => s.service_code === code), "the service is still offered");
  const again = await page.request.get(`${BASE}/staff/admin/pack?department=wssp`);
  assert.ok((await again.text()).includes(`response_hours = ${Number(hours) + 24}`), "the change is stored");

  // Another department's pack: refused in the preview, with no way to import it.
  const foreign = edited.replaceAll('slug = "wssp"', 'slug = "pesco"').replaceAll('department = "wssp"', 'department = "pesco"');
  await page.goto(`${BASE}/staff/admin#pack`);
  await page.fill("#pack-text", foreign);
  await submit(page, 'form[action="/staff/admin/pack/preview"] button');
  assert.ok((await page.locator("#refused").textContent()).includes("another department"));
  assert.equal(await page.locator('form[action="/staff/admin/pack/import"]').count(), 0);
  await page.context().close();
});

/** Serious or critical accessibility problems axe finds on the page. */
async function axeProblems(page, name) {
  // Through the DevTools protocol: the pages' Content-Security-Policy forbids inline script.
  await page.evaluate(readFileSync(require.resolve("axe-core/axe.min.js"), "utf8"));
  const result = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

test("the administration pages in English, Urdu and Pashto: axe finds nothing serious", async () => {
  const root = await staff(process.env.ROOT_EMAIL);
  const problems = [];
  for (const lang of ["en", "ur", "ps"]) {
    for (const [name, path] of [
      ["admin", "/staff/admin?department=wssp"],
      ["site", "/staff/admin/site?district=peshawar"],
      ["health", "/staff/admin/health"],
      ["service-new", "/staff/admin/services/new?department=wssp"],
      ["prompts", "/staff/admin/prompts?lang=ps"],
    ]) {
      await root.goto(`${BASE}${path}${path.includes("?") ? "&" : "?"}locale=${lang}`);
      assert.equal(await root.getAttribute("html", "lang"), lang);
      if (lang !== "ps" && BACKEND === "sqlite") await shot(root, `${lang}-admin-${name}`);
      problems.push(...(await axeProblems(root, `${lang} ${name}`)));
    }
  }
  assert.deepEqual(problems, [], problems.join("\n"));
  await root.context().close();
});

test("a manager records the Pashto name of the department for voice calls, and hears it back", async () => {
  const page = await staff(process.env.WSSP_MANAGER_EMAIL);
  // Pashto chosen with the language switch, as a person would.
  await page.goto(`${BASE}/lang/ps?next=/staff/admin`);
  await submit(page, 'a[href="/staff/admin/prompts"]');
  // The recordings of the page's own language, Pashto, in a right-to-left page.
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  assert.ok(page.url().endsWith("/staff/admin/prompts"), page.url());
  const row = page.locator('tr[data-prompt="department-wssp"]');
  assert.equal(await row.getAttribute("data-recorded"), "false");
  assert.ok((await row.textContent()).includes("د پېښور د اوبو او حفظ الصحې خدمتونه"));
  // Only the department's own prompts, none of the shared words.
  assert.equal(await page.locator('tr[data-prompt="ussd-department"]').count(), 0);
  const recorded = Number(await page.getAttribute("#prompt-count", "data-recorded"));

  // An MP3 (an ID3 header and frames), chosen as a phone or desktop would.
  const mp3 = Buffer.concat([Buffer.from("ID3\x03\x00\x00\x00\x00\x00\x0a", "latin1"), Buffer.alloc(700, 0x55)]);
  await page.selectOption("#prompt-name", "department-wssp");
  await page.setInputFiles("#prompt-file", { name: "wssp.mp3", mimeType: "audio/mpeg", buffer: mp3 });
  await submit(page, "#upload button");
  assert.equal(await row.getAttribute("data-recorded"), "true");
  assert.equal(Number(await page.getAttribute("#prompt-count", "data-recorded")), recorded + 1);
  const src = await row.locator("audio").getAttribute("src");
  const served = await page.request.get(`${BASE}${src}`);
  assert.equal(served.status(), 200);
  assert.equal(served.headers()["content-type"], "audio/mpeg");
  assert.deepEqual(Buffer.from(await served.body()), mp3);

  // A picture is not a recording: refused, in Pashto, and nothing changes.
  await page.selectOption("#prompt-name", "department-wssp");
  await page.setInputFiles("#prompt-file", { name: "x.mp3", mimeType: "audio/mpeg", buffer: Buffer.from("<svg/>") });
  await submit(page, "#upload button");
  assert.ok((await page.locator("#error").textContent()).includes("MP3"), await page.content());
  assert.equal(await row.getAttribute("data-recorded"), "true");
  await page.context().close();
});

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}
