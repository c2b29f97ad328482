// Sign-up → pending → admin approval → dashboard; bad input; logout and login; language
// switch; the same flow without JavaScript. At 360×740, with screenshots.
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login, navigate } from "./lib.mjs";

const browser = await launch();
try {
  // 1. A vendor signs up on a phone.
  const vendor = await phone(browser);
  const page = await vendor.newPage();
  watch(page, "vendor");
  await page.goto(`${BASE}/accounts/signup/`);
  await shot(page, "01-signup");
  await page.fill("#f-business_name", "Épicerie Chez Zoé");
  await page.fill("#f-contact_name", "Zoé Ngo");
  await page.fill("#f-phone", "677 98 76 54");
  await page.fill("#f-email", "zoe");
  await page.fill("#f-password", "mot-de-passe-sur");
  await page.click("button[type=submit].btn");
  // Bad email: the message is next to the field, the other values are kept.
  await page.waitForSelector("#f-email-err");
  check((await page.inputValue("#f-business_name")) === "Épicerie Chez Zoé", "values kept after an error");
  await shot(page, "02-signup-error");
  await page.fill("#f-email", "zoe@epicerie.cm");
  await page.fill("#f-password", "mot-de-passe-sur");
  await page.click("button[type=submit].btn");
  await page.waitForURL("**/partners/pending/");
  check((await text(page)).includes("Compte en attente de validation"), "pending page");
  await shot(page, "03-pending");

  // 2. An admin approves, in another browser.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR" });
  const admin = await adminCtx.newPage();
  watch(admin, "admin");
  await login(admin, "admin@delivr.cm", "admin-password-1", "**/admin/partners/");
  await admin.click("text=Épicerie Chez Zoé");
  await admin.waitForURL("**/admin/partners/*/");
  await shot(admin, "04-admin-partner");
  await admin.click("text=Valider ce partenaire");
  await admin.waitForSelector("text=Validé");

  // 3. The vendor reaches the dashboard.
  await page.goto(`${BASE}/partners/dashboard/`);
  check((await text(page)).includes("Bonjour, Épicerie Chez Zoé"), "dashboard greets the vendor");
  await shot(page, "05-dashboard-fr");

  // 4. Language switch (boosted by htmx): English everywhere, kept in the profile.
  await page.click("button[name=lang][value=en]");
  await page.waitForFunction(() => document.documentElement.lang === "en");
  check((await text(page)).includes("Hello, Épicerie Chez Zoé"), "dashboard in English");
  await shot(page, "06-dashboard-en");

  // 5. Logout, then login again through the form.
  await navigate(page, "Log out");
  await page.waitForURL("**/accounts/login/");
  await page.fill("#f-email", "zoe@epicerie.cm");
  await page.fill("#f-password", "mot-de-passe-sur");
  await page.click("button[type=submit].btn");
  await page.waitForURL("**/partners/dashboard/");
  check((await text(page)).includes("Hello"), "language kept after login (profile setting)");

  // 6. Profile: the quartier list follows the city (htmx).
  await navigate(page, "Profile");
  await page.waitForURL("**/partners/profile/");
  await htmxReady(page, "#f-pickup_city_id");
  await page.selectOption("#f-pickup_city_id", { label: "Douala" });
  await page.waitForSelector("#f-pickup_quartier_id option:has-text('Bonapriso')", { state: "attached" });
  await page.selectOption("#f-pickup_quartier_id", { label: "Bonapriso" });
  await page.fill("#f-pickup_address", "Derrière la pharmacie du Centre");
  await page.click("form[action='/partners/profile/'] button[type=submit]:not([name])");
  await page.waitForURL("**/partners/profile/?saved=profile");
  await shot(page, "07-profile-saved");

  // 7. Without JavaScript, every step still works with plain forms.
  const nojs = await phone(browser, { javaScriptEnabled: false });
  const p2 = await nojs.newPage();
  await login(p2, "zoe@epicerie.cm", "mot-de-passe-sur", "**/partners/dashboard/");
  await p2.goto(`${BASE}/partners/profile/`);
  await p2.selectOption("#f-pickup_city_id", { label: "Yaoundé" });
  await p2.click("button[name=refresh]");
  await p2.waitForSelector("#f-pickup_quartier_id option:has-text('Bastos')", { state: "attached" });
  await shot(p2, "08-profile-nojs");
  console.log("accounts scenario passed");
} finally {
  await browser.close();
}
