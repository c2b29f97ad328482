// The dashboard on a slow 3G line (50 KB/s each way, 2 s round trip) in headless Chromium:
// time until it is usable (styles applied, scripts run: DOMContentLoaded) from a cold cache,
// then from a warm one (the same browser, again). Prints one JSON line. The service worker is
// blocked: Chromium's network emulation does not slow a worker's own fetches, so with it the
// warm figure would not cross the slow line at all; without it every request does (the HTML
// still pays its round trips on a warm visit, the immutable assets come from the cache).
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(import.meta.dirname, "../../assets/package.json"));
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const [name, value] = process.env.COOKIE.split("=");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: "fr-FR", serviceWorkers: "block" });
  await ctx.addCookies([{ name, value, url: base }]);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 2000, downloadThroughput: 50 * 1024, uploadThroughput: 50 * 1024 });
  const usable = async () => {
    await page.goto(`${base}/partners/dashboard/`, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.waitForFunction(() => window.htmx !== undefined && document.querySelector(".kpi"));
    return page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return Math.round(nav.domContentLoadedEventEnd);
    });
  };
  const cold = await usable();
  const warm = await usable();
  console.log(JSON.stringify({ cold_ms: cold, warm_ms: warm }));
} finally {
  await browser.close();
}
