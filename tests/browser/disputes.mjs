// A vendor files a dispute with a photo on a delivered order, an admin resolves it with a
// refund, and the vendor brands the public booking page (screenshots before and after).
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login, navigate } from "./lib.mjs";

const browser = await launch();
try {
  const ctx = await phone(browser);
  const page = await ctx.newPage();
  watch(page, "vendor");
  await login(page, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");

  // The public booking page before any branding.
  const booking = await ctx.newPage();
  await booking.goto(`${BASE}/book/boutique-test/`);
  const before = await booking.evaluate(() => getComputedStyle(document.querySelector("header.top")).backgroundColor);
  check(before === "rgb(15, 110, 85)", `DELIVR-CM green before branding (${before})`);
  await shot(booking, "40-booking-before-branding");

  // An order, delivered by the simulator.
  await page.goto(`${BASE}/partners/orders/new/`);
  await htmxReady(page, "#quote");
  await page.fill("#f-recipient_name", "Paul Nkwi");
  await page.fill("#f-recipient_phone", "677 98 76 54");
  await page.selectOption("#f-dropoff_quartier", { label: "Makepe" });
  await page.fill("#f-dropoff_address", "Derrière la pharmacie, portail bleu");
  await page.fill("#f-package_description", "Verres à vin");
  await page.click("#order-form button[type=submit]:not([name])");
  await page.waitForURL(/\/partners\/orders\/[0-9a-f-]+\/\?created=1$/);
  const orderUrl = page.url().replace("?created=1", "");
  for (let i = 0; i < 120; i++) {
    await page.goto(orderUrl);
    if (await page.locator("#disputes a.btn").count()) break;
    await page.waitForTimeout(1000);
  }
  check(await page.locator("#disputes a.btn").count(), "the delivered order offers a dispute");

  // File the dispute with a photo (a real PNG: a screenshot of the order page).
  const photo = await page.screenshot();
  await page.click("#disputes a.btn");
  await page.waitForURL(/\/partners\/disputes\/new\//);
  await page.check("input[name=reason][value=DAMAGED]");
  await page.fill("#f-description", "Le carton est arrivé écrasé, deux verres cassés.");
  await page.fill("#f-amount_claimed", "6 000");
  await page.setInputFiles("#f-photos", { name: "carton.png", mimeType: "image/png", buffer: photo });
  await shot(page, "41-dispute-new");
  await page.click("form button[type=submit].btn");
  await page.waitForURL(/\/partners\/disputes\/[0-9a-f-]+\/\?opened=1$/);
  const disputeUrl = page.url().replace("?opened=1", "");
  check((await text(page)).includes("Litige ouvert"), "opened");
  const width = await page.locator("ul.photos img").evaluate((img) => img.complete ? img.naturalWidth : img.decode().then(() => img.naturalWidth));
  check(width > 0 && width <= 1600, `the photo shows, re-encoded (${width} px)`);
  await shot(page, "42-dispute-opened");

  // An admin takes it in review, then resolves it with a refund.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-FR" });
  const admin = await adminCtx.newPage();
  watch(admin, "admin");
  await login(admin, "admin@delivr.cm", "admin-password-1", "**/admin/partners/");
  await admin.goto(`${BASE}/admin/disputes/?status=open`);
  await admin.click(".order-row a");
  await admin.waitForURL(/\/admin\/disputes\/[0-9a-f-]+\/$/);
  await admin.fill("#f-note", "Nous vérifions avec le coursier.");
  await admin.click("form[action$='/review/'] button[type=submit]");
  await admin.waitForSelector("#f-reason");
  await admin.fill("#f-reason", "Casse confirmée par le coursier.");
  await admin.fill("#f-refund", "5000");
  await admin.click("button[value=resolve]");
  await admin.waitForFunction(() => document.querySelector("main")?.innerText.includes("Résolu"));
  await shot(admin, "43-admin-dispute-resolved");

  // The vendor follows it to the refund, live badge included.
  await page.goto(disputeUrl);
  const detail = (await text(page)).replaceAll("\u00a0", " ");
  check(detail.includes("Résolu") && detail.includes("5 000 FCFA") && detail.includes("Casse confirmée"), "resolved with its refund");
  await shot(page, "44-dispute-resolved");
  await page.goto(`${BASE}/partners/wallet/?kind=DISPUTE_REFUND`);
  check((await text(page)).replaceAll("\u00a0", " ").includes("+5 000 FCFA"), "the refund is in the wallet");

  // Branding: a colour too light is explained live, a readable one is saved.
  await navigate(page, "Image de marque");
  await page.waitForURL("**/partners/branding/");
  await htmxReady(page, "#brand-fields");
  await page.fill("#f-brand_color", "#ffd700");
  await page.waitForFunction(() => document.querySelector("#brand-preview")?.innerText.includes("Essayez #"));
  await shot(page, "45-branding-contrast");
  await page.fill("#f-brand_color", "#7a1f5c");
  await page.fill("#f-brand_message", "Merci de votre confiance ! Livraison le jour même à Douala.");
  await page.waitForFunction(() => document.querySelector("#brand-preview .brand-bar")?.getAttribute("style")?.includes("#7a1f5c"));
  await page.click("form button[type=submit].btn");
  await page.waitForURL(/\/partners\/branding\/\?saved=1$/);

  await booking.goto(`${BASE}/book/boutique-test/`);
  const after = await booking.evaluate(() => getComputedStyle(document.querySelector("header.top")).backgroundColor);
  check(after === "rgb(122, 31, 92)", `the brand colour after (${after})`);
  check((await text(booking)).includes("Merci de votre confiance"), "the message for customers");
  await shot(booking, "46-booking-after-branding");
  console.log("disputes and branding: ok");
} finally {
  await browser.close();
}
