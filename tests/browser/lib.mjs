// Shared browser-test helpers: launch Debian's Chromium through playwright-core (installed
// under assets/), phone-sized contexts, screenshots, assertions.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(import.meta.dirname, "../../assets/package.json"));
const { chromium } = require("playwright-core");

export const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    // playwright gives every launch a fresh temporary user-data dir.
  });
}

/** A phone: 360×740, French by default. */
export async function phone(browser, opts = {}) {
  return browser.newContext({ viewport: { width: 360, height: 740 }, locale: "fr-FR", deviceScaleFactor: 1, ...opts });
}

export async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

export function check(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

export async function text(page) {
  return page.locator("main").innerText();
}

/** Fail on any page error or failed same-origin request. */
export function watch(page, label) {
  page.on("pageerror", (e) => { throw new Error(`${label}: page error ${e.message}`); });
  page.on("console", (m) => { if (m.type() === "error") console.error(`${label} console: ${m.text()}`); });
}

/** Wait until htmx has processed `selector` (after a boosted swap, its hx-* attributes are
 * wired a moment after the URL changes). */
export async function htmxReady(page, selector) {
  await page.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    return el && el["htmx-internal-data"] && !document.body.classList.contains("htmx-swapping");
  }, selector);
}

// Sign in through the login form and wait for the landing page (a URL glob).
export async function login(page, email, password, landing) {
  await page.goto(`${BASE}/accounts/login/`);
  await page.fill("#f-email", email);
  await page.fill("#f-password", password);
  await page.click("button[type=submit].btn");
  await page.waitForURL(landing);
}

/** Go to a portal section the way a phone user does: its tab in the bottom bar, or "Plus"
 * (which opens the other sections as a sheet) and then the section. */
export async function navigate(page, label) {
  const tab = page.locator(".tabbar > ul > li > a", { hasText: label });
  if (await tab.count() > 0 && await tab.first().isVisible()) {
    await tab.first().click();
    return;
  }
  await page.click(".tabbar details.more > summary");
  const item = page.locator(".tabbar .sheet a, .tabbar .sheet button", { hasText: label });
  await item.first().click();
}
