// The portal offline: the service worker shows the last dashboard and orders list, marked as
// offline; another page gives the offline page; an order drafted offline waits on the device
// and is sent once when the connection returns (a second send of the same draft makes no
// second order).
import { BASE, launch, phone, shot, check, text, watch, login, navigate } from "./lib.mjs";

const browser = await launch();
try {
  const ctx = await phone(browser);
  const page = await ctx.newPage();
  watch(page, "vendor");
  await login(page, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  // The worker installs, then takes the pages; visiting them once more keeps their copy.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const manifest = await page.evaluate(() => fetch(document.querySelector("link[rel=manifest]").href).then((r) => r.json()));
  check(manifest.start_url === "/partners/dashboard/" && manifest.icons.some((i) => i.sizes === "512x512"), "an installable manifest");
  for (const path of ["/partners/orders/", "/partners/orders/new/", "/partners/dashboard/"]) await page.goto(`${BASE}${path}`);
  const before = await page.locator(".kpi .v").first().innerText();

  await ctx.setOffline(true);
  await page.goto(`${BASE}/partners/orders/`);
  check((await text(page)).includes("Hors ligne : voici cette page telle qu'elle était le"), "the orders list, marked offline");
  await shot(page, "50-offline-orders");
  await navigate(page, "Accueil");
  await page.waitForURL("**/partners/dashboard/");
  await page.waitForSelector(".offline-note");
  check((await page.locator(".kpi .v").first().innerText()) === before, "the dashboard as last seen");
  await shot(page, "51-offline-dashboard");
  await page.goto(`${BASE}/partners/wallet/`);
  const other = await text(page);
  check(other.includes("Vous êtes hors ligne"), `another page: the offline page (${page.url()}: ${other.slice(0, 160)})`);

  // An order drafted offline.
  await page.goto(`${BASE}/partners/orders/new/`);
  await page.fill("#f-recipient_name", "Hors Ligne Nkwi");
  await page.fill("#f-recipient_phone", "677 98 76 54");
  await page.selectOption("#f-dropoff_quartier", { label: "Makepe" });
  await page.fill("#f-dropoff_address", "Derrière la pharmacie, portail bleu");
  await page.fill("#f-package_description", "Chaussures");
  await page.click("#order-form button[type=submit]:not([name])");
  await page.waitForSelector(".offline-queue");
  check((await text(page)).includes("commande enregistrée sur cet appareil (1 en attente)"), "the vendor is told it waits");
  await shot(page, "52-offline-order-queued");
  const queued = await page.evaluate(() => localStorage.getItem("delivr-offline-orders"));

  await ctx.setOffline(false);
  await page.waitForSelector(".offline-queue.ok", { timeout: 15000 });
  check((await text(page)).includes("une commande préparée hors ligne a été envoyée"), "the vendor is told it was sent");
  check(await page.evaluate(() => JSON.parse(localStorage.getItem("delivr-offline-orders")).length === 0), "the queue is empty");
  // The same draft sent again (as if the first answer had been lost): the same order.
  await page.evaluate((q) => { localStorage.setItem("delivr-offline-orders", q); window.dispatchEvent(new Event("online")); }, queued);
  await page.waitForFunction(() => document.querySelectorAll(".offline-queue.ok").length === 2, null, { timeout: 15000 });
  const links = await page.locator(".offline-queue.ok a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  check(links[0] === links[1], `both sends name one order (${links})`);
  await shot(page, "53-offline-order-sent");
  await page.goto(`${BASE}/partners/orders/?q=Hors+Ligne`);
  check((await page.locator(".order-row").count()) === 1, "one order, not two");
  console.log("offline: ok");
} finally {
  await browser.close();
}
