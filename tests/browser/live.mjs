// Live updates over the page's event stream: a new order makes the notification badge count
// up without a reload, and the tracking map's markers move as the simulated courier drives.
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login, navigate } from "./lib.mjs";

const browser = await launch();
try {
  const ctx = await phone(browser);
  const page = await ctx.newPage();
  watch(page, "vendor");
  await login(page, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  await htmxReady(page, "body");
  const before = await page.locator("#notif-badge").innerText();

  // Another tab of the same vendor creates an order.
  const other = await ctx.newPage();
  await other.goto(`${BASE}/partners/orders/new/`);
  await htmxReady(other, "#quote");
  await other.fill("#f-recipient_name", "Paul Nkwi");
  await other.fill("#f-recipient_phone", "677 98 76 54");
  await other.selectOption("#f-dropoff_quartier", { label: "Makepe" });
  await other.fill("#f-dropoff_address", "Derrière la pharmacie");
  await other.fill("#f-package_description", "Chaussures");
  await other.click("#order-form button[type=submit]:not([name])");
  await other.waitForURL(/created=1/);
  // That order's page stays open in the other tab: the simulator dispatches and delivers it,
  // and the page follows (checked at the end, without a reload).
  const orderUrl = other.url();
  const tracking = (await other.locator("h1").textContent()).trim();

  // The first tab's badge counts up by itself.
  await page.waitForFunction((b) => {
    const el = document.querySelector("#notif-badge");
    return el && el.textContent.trim() !== b && Number(el.textContent) > 0;
  }, before, { timeout: 15000 });
  await shot(page, "20-badge-live");

  // The notifications page shows it.
  await navigate(page, "Notifications");
  await page.waitForURL("**/partners/notifications/");
  // One entry for the order: its latest news (created, or already assigned by the simulator).
  check((await text(page)).includes(tracking), "the order's notification is listed");
  check(await page.locator(`#notif-list li.notif[data-order]`).count() === 1, "one entry per order");
  await shot(page, "21-notifications");

  // The tracking map: the simulator assigns a courier and drives; markers move live.
  await navigate(page, "Suivi");
  await page.waitForURL("**/partners/tracking/");
  await page.waitForFunction(() => window.L && document.querySelector("#map.leaflet-container"), null, { timeout: 15000 });
  await page.waitForFunction(() => Number(document.getElementById("map").dataset.updates || 0) > 0, null, { timeout: 30000 });
  await shot(page, "22-tracking-live");

  // Meanwhile the order's page, never reloaded, has followed the order to its delivery.
  check(other.url() === orderUrl, "the order page was not left");
  await other.waitForFunction(() => document.querySelector("#order-live .badge")?.textContent.includes("Livrée"), null, { timeout: 60000 });
  check((await other.locator("#order-live").innerText()).includes("Livrée"), "delivered, live");
  await shot(other, "23-order-delivered-live");
  console.log("live scenario passed");
} finally {
  await browser.close();
}
