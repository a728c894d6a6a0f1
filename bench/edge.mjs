// A citizen's uploads on an EDGE-like link, timed in a real browser (Debian's Chromium, driven by
// playwright-core from tests/browser): 600 ms of latency, 240 kbit/s down, 60 kbit/s up, a phone's
// viewport. Started by bench/edge.sh, which runs a demo server and gives us:
//   KHIDMAT_URL   the server
//   PHOTO_DIR     where the camera-sized photos are written
// Prints one line per figure and writes them as JSON to $OUT/edge.json when OUT is set.
//
// 1. a report with one camera photo: from "send" to the tracking page;
// 2. a grant application with two document photos: from "send" to the slip;
// 3. the same application refused by the server first (its CNIC has applied already: a check
//    only the server can make), corrected and sent again: from the first "send" to the slip,
//    including choosing the photos again where the page lost them.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.KHIDMAT_URL;
const EDGE = { offline: false, latency: 600, downloadThroughput: 240000 / 8, uploadThroughput: 60000 / 8 };
const LIMIT = 900000; // 15 minutes: past that a citizen has long given up

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
});
const figures = [];

/** A camera-sized JPEG (2400 × 1800, 1.5 MB), drawn by the browser itself; its path. */
async function cameraPhoto(page, name, seed) {
  const b64 = await page.evaluate(async (seed) => {
    const c = document.createElement("canvas");
    c.width = 2400;
    c.height = 1800;
    const g = c.getContext("2d");
    const img = g.createImageData(c.width, c.height);
    let x = seed;
    for (let i = 0; i < img.data.length; i += 4) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      // A gradient (paper, a wall, the sky) with the texture and grain of a real photo: noise of
      // ±32 levels, which compresses as a phone's photo does (1.5 MB here; 170 KB at 1280 px
      // and 330 KB at 1800 px, JPEG quality 0.8).
      const px = (i >> 2) % 2400, py = (i >> 2) / 2400;
      const v = 90 + px / 30 + py / 40 + (x % 64) - 32;
      img.data[i] = v; img.data[i + 1] = v - 20; img.data[i + 2] = v - 40; img.data[i + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    const blob = await new Promise((ok) => c.toBlob(ok, "image/jpeg", 0.92));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, seed);
  const path = `${process.env.PHOTO_DIR}/${name}.jpg`;
  writeFileSync(path, Buffer.from(b64, "base64"));
  return path;
}

async function phone() {
  const ctx = await browser.newContext({ locale: "en-GB", viewport: { width: 412, height: 860 } });
  const page = await ctx.newPage();
  // An upload on EDGE takes minutes: nothing here may give up before the citizen would.
  page.setDefaultTimeout(LIMIT);
  page.setDefaultNavigationTimeout(LIMIT);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  return { ctx, page, edge: () => cdp.send("Network.emulateNetworkConditions", EDGE) };
}

function record(name, seconds, note = "") {
  const f = { name, seconds: seconds === null ? null : +seconds.toFixed(1), note };
  figures.push(f);
  console.log(`${name.padEnd(58)} ${seconds === null ? "  > 900" : String(f.seconds).padStart(7)} s  ${note}`);
}

async function timed(work) {
  const t0 = Date.now();
  try {
    await work();
    return (Date.now() - t0) / 1000;
  } catch (e) {
    if (String(e).includes("Timeout")) return null;
    throw e;
  }
}

// Files chosen in a form's inputs that the page makes smaller itself are ready when they are JPEGs.
async function shrunk(page, selectors) {
  await page.waitForFunction((sels) => sels.every((s) => {
    const f = document.querySelector(s).files[0];
    return f && (f.type === "image/jpeg" || f.type === "") && f.size > 0;
  }), selectors);
  await page.waitForTimeout(1500); // the downscaling itself
}

// 1. A report with a photo.
{
  const { ctx, page, edge } = await phone();
  await page.goto(`${BASE}/report/kunda`);
  const photo = await cameraPhoto(page, "report", 7);
  const groups = await page.$$eval("input[type=radio][required]", (els) => [...new Set(els.map((e) => e.name))]);
  for (const g of groups) await page.locator(`input[type=radio][name="${g}"]`).first().check();
  await page.fill("#description", "Hooks on the line behind the market");
  await page.selectOption("#district", "peshawar");
  await page.fill("#phone", "0300 1234567");
  await page.setInputFiles("#media", photo);
  await page.waitForTimeout(2500); // the page downscales the photo as it is chosen
  await edge();
  const s = await timed(() => Promise.all([
    page.waitForURL(/\/track\//, { timeout: LIMIT }),
    page.locator("form.report button[type=submit]").click({ noWaitAfter: true }),
  ]));
  const progress = await page.locator("progress.upload").count();
  record("report with one camera photo", s, progress ? "(progress shown)" : "");
  await ctx.close();
}

async function fillGrant(page, cnic) {
  await page.evaluate(() => document.querySelectorAll("fieldset.step").forEach((s) => { s.hidden = false; }));
  await page.fill("#cnic", cnic);
  await page.fill("#name", "Applicant On EDGE");
  await page.locator("input[name=gender][value=female]").check();
  await page.fill("#birth_date", "2004-05-06");
  await page.selectOption("#district", "peshawar");
  await page.fill("#phone", "0300 1234567");
  await page.fill("#monthly_income", "30,000");
  await page.fill("#dependants", "3");
  await page.locator("input[name='attribute[religion]'][value=christian]").check();
  await page.fill("[name='attribute[institution]']", "Edwardes College");
  await page.locator("input[name='attribute[level]'][value=bachelor]").check();
}

async function chooseDocuments(page, a, b) {
  await page.setInputFiles("#doc-cnic", a);
  await page.setInputFiles("#doc-enrolment", b);
  await shrunk(page, ["#doc-cnic", "#doc-enrolment"]);
}

const send = (page) => page.locator("fieldset.step button[type=submit]").click({ noWaitAfter: true });
const run = Date.now() % 1000000;
const cnic = (n) => `17301-${String(run + n).padStart(7, "0")}-2`;

// 2. A grant application with two document photos.
{
  const { ctx, page, edge } = await phone();
  await page.goto(`${BASE}/benefits/minority-education-2026`);
  const a = await cameraPhoto(page, "cnic", 11);
  const b = await cameraPhoto(page, "enrolment", 13);
  await fillGrant(page, cnic(1));
  await chooseDocuments(page, a, b);
  await edge();
  const s = await timed(() => Promise.all([page.waitForURL(/\/benefits\/slip\//, { timeout: LIMIT }), send(page)]));
  record("grant application with two document photos", s);
  await ctx.close();
}

// 3. Refused by the server first, then corrected.
{
  const { ctx, page, edge } = await phone();
  await page.goto(`${BASE}/benefits/minority-education-2026`);
  const a = await cameraPhoto(page, "cnic2", 17);
  const b = await cameraPhoto(page, "enrolment2", 19);
  await fillGrant(page, cnic(1)); // applied already, in 2
  await chooseDocuments(page, a, b);
  await edge();
  let kept = 0;
  const first = await timed(async () => {
    await send(page);
    await page.waitForSelector("p.error[role=alert]", { timeout: LIMIT });
  });
  let second = null;
  if (first !== null) {
    kept = await page.locator("p.kept").count();
    await page.evaluate(() => document.querySelectorAll("fieldset.step").forEach((s) => { s.hidden = false; }));
    await page.fill("#cnic", cnic(2));
    const chooseAgain = kept < 2;
    await page.evaluate(() => document.querySelectorAll("fieldset.step").forEach((s) => { s.hidden = false; }));
    second = await timed(async () => {
      if (chooseAgain) {
        await page.setInputFiles("#doc-cnic", a);
        await page.setInputFiles("#doc-enrolment", b);
        await page.waitForTimeout(1500);
      }
      await Promise.all([page.waitForURL(/\/benefits\/slip\//, { timeout: LIMIT }), send(page)]);
    });
  }
  record("  refused by the server: until the refusal is shown", first);
  record("  corrected and sent again: until the slip", second, kept === 2 ? "(documents kept, nothing uploaded again)" : "(documents chosen and uploaded again)");
  await ctx.close();
}

await browser.close();
if (process.env.OUT) writeFileSync(`${process.env.OUT}/edge.json`, JSON.stringify(figures, null, 2));
