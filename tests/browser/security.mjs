// Access ends when it should, as the vendor sees it: a page left open on one phone lands on
// the login page when the vendor signs out everywhere from another device; and the API docs
// page runs under its Content-Security-Policy (Swagger UI renders, nothing is blocked).
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login } from "./lib.mjs";

const browser = await launch();
try {
  // The docs render under their policy: any blocked script would leave the page empty.
  const docsCtx = await phone(browser, { viewport: { width: 1024, height: 800 } });
  const docs = await docsCtx.newPage();
  const violations = [];
  docs.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
  await docs.goto(`${BASE}/partners/docs/`);
  await docs.waitForSelector(".swagger-ui .opblock", { timeout: 15000 });
  check(violations.length === 0, `no CSP violation on the docs page: ${violations.join(" | ")}`);
  await docsCtx.close();

  // Phone A keeps the dashboard open.
  const a = await phone(browser);
  const page = await a.newPage();
  watch(page, "phone A");
  await login(page, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  await htmxReady(page, "body");
  // Give the page's event stream a moment to connect.
  await page.waitForTimeout(500);

  // Device B signs out everywhere from the profile.
  const b = await phone(browser);
  const other = await b.newPage();
  watch(other, "device B");
  await login(other, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  await other.goto(`${BASE}/partners/profile/`);
  await other.click("form[action='/partners/profile/sign-out-everywhere/'] button[type=submit]");
  await other.waitForURL("**/accounts/login/?signed_out=everywhere");
  check((await text(other)).includes("Vous êtes déconnecté de tous vos appareils"), "device B is told");

  // Phone A, untouched, lands on the login page by itself, told why, with the way back.
  await page.waitForURL(/\/accounts\/login\/\?ended=1&next=%2Fpartners%2Fdashboard%2F/, { timeout: 10000 });
  check((await text(page)).includes("Votre session a pris fin"), "phone A is told its session ended");
  await shot(page, "60-session-ended");
  // Signing in again brings it back to where it was.
  await page.fill("#f-email", "vendeur@test.cm");
  await page.fill("#f-password", "vendeur-password-1");
  await page.click("button[type=submit].btn");
  await page.waitForURL("**/partners/dashboard/");
  console.log("security scenario passed");
} finally {
  await browser.close();
}
