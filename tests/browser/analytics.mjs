// The analytics page at phone and desktop widths: the period switch swaps the charts with
// htmx and the URL follows; a bad custom range falls back to 30 days with a message.
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login, navigate } from "./lib.mjs";

const email = process.env.VENDOR_EMAIL || "vendeur@test.cm";
const password = process.env.VENDOR_PASSWORD || "vendeur-password-1";

const browser = await launch();
try {
  const ctx = await phone(browser);
  const page = await ctx.newPage();
  watch(page, "vendor");
  await login(page, email, password, "**/partners/dashboard/");
  if (!process.env.VENDOR_EMAIL) {
    // A fresh vendor: one order first, so that the charts have something to draw.
    await page.goto(`${BASE}/partners/orders/new/`);
    await htmxReady(page, "#quote");
    await page.fill("#f-recipient_name", "Paul Nkwi");
    await page.fill("#f-recipient_phone", "677 98 76 54");
    await page.selectOption("#f-dropoff_quartier", { label: "Makepe" });
    await page.fill("#f-dropoff_address", "Derrière la pharmacie, portail bleu");
    await page.fill("#f-package_description", "Chaussures");
    await page.click("#order-form button[type=submit]:not([name])");
    await page.waitForURL(/\/partners\/orders\/[0-9a-f-]+\/\?created=1$/);
  }
  await navigate(page, "Graphiques avancés");
  await page.waitForURL("**/partners/analytics/");
  await htmxReady(page, "form.period");
  for (const title of ["Commandes dans le temps", "Chiffre d'affaires cumulé", "Répartition par statut", "Heures de pointe", "Quartiers les plus livrés"]) {
    check((await text(page)).includes(title), `chart "${title}" shown`);
  }
  check((await page.locator("svg.chart-svg").count()) === 4, "four SVG charts");
  if (!process.env.VENDOR_EMAIL) {
    check((await page.textContent(".headline .kpi .v")).trim() === "1", "one order counted");
    check((await text(page)).includes("Makepe"), "its quartier in the top list");
  }
  await shot(page, "30-analytics-phone");
  // The period switch: charts swapped in place, URL follows.
  const fromBefore = await page.inputValue("#from");
  await page.selectOption("#period", "12m");
  await page.waitForURL(/period=12m/);
  await page.waitForFunction(() => document.querySelector("#analytics .grains a[aria-current]")?.textContent.trim() === "Mois");
  // The form's dates follow the period shown.
  const from = await page.inputValue("#from");
  check(from !== fromBefore && from < (await page.inputValue("#to")), `dates follow the period (${fromBefore} → ${from})`);
  await shot(page, "31-analytics-12m-phone");
  // A custom range with the end before the start.
  await page.goto(`${BASE}/partners/analytics/?period=custom&from=2026-05-10&to=2026-05-01`);
  check((await text(page)).includes("La date de fin est avant la date de début."), "bad range explained");
  // Desktop width.
  const wide = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-FR", storageState: await ctx.storageState() });
  const desk = await wide.newPage();
  await desk.goto(`${BASE}/partners/analytics/?period=90d`);
  await shot(desk, "32-analytics-desktop");
  console.log("analytics: ok");
} finally {
  await browser.close();
}
