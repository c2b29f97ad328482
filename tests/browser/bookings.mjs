// A vendor's cash-on-delivery day at phone width: a customer books on the vendor's page (the
// fee shown first), the vendor confirms with 15 000 FCFA to collect, the courier fails, the
// vendor orders a new attempt and it is delivered; a second order fails and comes back to the
// vendor against the return code; a label is printed; the recipient's text carries the link
// and the PIN; the vendor, having forgotten the password, resets it from the e-mail. Couriers
// act through their API; an admin dispatches; the SMS gateway and the SMTP server are local
// (what they received is read from RECEIVER).
import { BASE, launch, phone, shot, check, text, watch, htmxReady, login } from "./lib.mjs";

const RECEIVER = process.env.RECEIVER;

/** Poll `f` until it returns something truthy (at most `secs` seconds). */
async function eventually(what, f, secs = 20) {
  for (let i = 0; i < secs * 5; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const received = async (what) => (await fetch(`${RECEIVER}/${what}`)).json();

async function courierToken(email) {
  const r = await fetch(`${BASE}/courier/v1/login`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "admin-password-1" }),
  });
  check(r.status === 200, `courier login ${r.status}`);
  return (await r.json()).token;
}

async function courier(token, id, step, body = {}) {
  const r = await fetch(`${BASE}/courier/v1/orders/${id}/${step}`, {
    method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  check(r.status === 200, `courier ${step}: ${r.status} ${await r.text()}`);
}

async function assign(admin, id) {
  await admin.goto(`${BASE}/admin/orders/${id}/`);
  // Each courier is offered with their load (and distance): "Coursier 0 — 1 en cours".
  const courier = await admin.$eval("#f-courier_id", (s) => [...s.options].find((o) => o.text.startsWith("Coursier 0 — ")).value);
  await admin.selectOption("#f-courier_id", courier);
  await admin.click("form[action$='/assign/'] button[type=submit]");
  // Assigned once the page no longer offers to assign (the URL stays the same).
  await admin.waitForSelector("form[action$='/assign/']", { state: "detached" });
}

const orderId = (url) => url.match(/\/partners\/orders\/([0-9a-f-]+)\//)[1];

const browser = await launch();
try {
  // 1. The customer books: the fee to the quartier shows before sending.
  const customer = await (await phone(browser)).newPage();
  watch(customer, "customer");
  await customer.goto(`${BASE}/book/boutique-test/`);
  await htmxReady(customer, "#booking-fee");
  await customer.fill("#f-recipient_name", "Flore Essomba");
  await customer.fill("#f-recipient_phone", "699 88 77 66");
  await customer.selectOption("#f-dropoff_quartier", { label: "Makepe" });
  await customer.waitForFunction(() => document.querySelector("#booking-fee")?.textContent.includes("Makepe"));
  await customer.fill("#f-dropoff_address", "Carrefour Makepe, portail bleu");
  await customer.fill("#f-package_description", "Panier de fruits");
  await shot(customer, "60-booking-fee");
  await customer.click("#booking-form button[type=submit]:not([name])");
  await customer.waitForURL(/\/r\/[A-Za-z0-9_-]+\/\?sent=1$/);
  check((await text(customer)).includes("pas encore confirmé"), "the request waits for the vendor");
  const requestUrl = customer.url().replace("?sent=1", "");

  // 2. The vendor confirms it with the cash to collect.
  const vendor = await (await phone(browser)).newPage();
  watch(vendor, "vendor");
  await login(vendor, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  check((await text(vendor)).includes("Demandes de clients à confirmer : 1"), "the dashboard says a request waits");
  await vendor.click("a.flash.link");
  await vendor.waitForURL("**/partners/bookings/");
  await vendor.click("ul.orders a");
  await vendor.waitForURL(/\/partners\/bookings\/[0-9a-f-]+\/$/);
  await vendor.fill("#f-cod_amount", "15 000");
  await shot(vendor, "61-booking-confirm");
  await vendor.click("#order-form button[type=submit]:not([name])");
  await vendor.waitForURL(/\/partners\/orders\/[0-9a-f-]+\/\?created=1$/);
  const first = orderId(vendor.url());
  check(/15\s000\sFCFA/.test(await text(vendor)), "15 000 FCFA to collect");
  // The recipient's text: the tracking link and the delivery PIN.
  const firstPin = (await vendor.locator(".v.pin").textContent()).replace(/\D/g, "");
  const sms = await eventually("the recipient's text", async () =>
    (await received("texts")).find((t) => t.includes(firstPin) && t.includes(`${BASE}/t/`)));
  check(sms.includes("Boutique Test vous envoie un colis"), `the text, in French: ${sms}`);
  // The waybill: an A6 PDF.
  const label = await vendor.request.get(`${BASE}/partners/orders/${first}/label/`);
  check(label.status() === 200 && label.headers()["content-type"] === "application/pdf", `label ${label.status()}`);
  check((await label.body()).subarray(0, 5).toString() === "%PDF-", "a PDF");
  check(await vendor.locator(`a[href="/partners/orders/${first}/label/"]`).count() === 1, "the order page links its label");
  await customer.goto(requestUrl);
  check((await text(customer)).includes("a confirmé votre demande"), "the customer sees the answer");
  check(await customer.locator("a[href^='/t/']").count() === 1, "and the tracking link");

  // 3. Dispatched; the courier fails; the vendor orders a new attempt.
  const admin = await (await phone(browser)).newPage();
  watch(admin, "admin");
  await login(admin, "admin@delivr.cm", "admin-password-1", "**/admin/**");
  const token = await courierToken("coursier0@test.cm");
  await assign(admin, first);
  await courier(token, first, "pickup");
  await courier(token, first, "in-transit");
  await courier(token, first, "fail", { reason: "Destinataire absent" });
  await vendor.goto(`${BASE}/partners/orders/${first}/`);
  check((await text(vendor)).includes("que faire du colis"), "the vendor is asked what next");
  await shot(vendor, "62-failed-choices");
  await vendor.click("#after-failure form[action$='/reattempt/'] button");
  await vendor.waitForURL(/\?reattempted=1$/);
  check((await text(vendor)).includes("Tentative n°2"), "attempt 2 shown");
  const pin = (await vendor.locator(".v.pin").textContent()).replace(/\D/g, "");
  await assign(admin, first);
  await courier(token, first, "pickup");
  await courier(token, first, "in-transit");
  await courier(token, first, "complete", { pin });
  await vendor.goto(`${BASE}/partners/orders/${first}/`);
  check((await text(vendor)).includes("Livrée"), "delivered on the second attempt");
  await shot(vendor, "63-delivered-second-attempt");

  // 4. A second order fails and comes back to the vendor against the return code.
  await vendor.goto(`${BASE}/partners/orders/new/`);
  await htmxReady(vendor, "#quote");
  await vendor.fill("#f-recipient_name", "Paul Nkwi");
  await vendor.fill("#f-recipient_phone", "677 98 76 54");
  await vendor.selectOption("#f-dropoff_quartier", { label: "Bonapriso" });
  await vendor.fill("#f-dropoff_address", "Derrière la pharmacie");
  await vendor.fill("#f-package_description", "Chaussures");
  await vendor.click("#order-form button[type=submit]:not([name])");
  await vendor.waitForURL(/\?created=1$/);
  const second = orderId(vendor.url());
  await assign(admin, second);
  await courier(token, second, "pickup");
  await courier(token, second, "in-transit");
  await courier(token, second, "fail", { reason: "Adresse introuvable" });
  await vendor.goto(`${BASE}/partners/orders/${second}/`);
  await vendor.click("#after-failure form[action$='/return/'] button");
  await vendor.waitForURL(/\?returning=1$/);
  const code = (await vendor.locator("#return-code strong").textContent()).trim();
  check(/^\d{4}$/.test(code), `a return code (${code})`);
  await shot(vendor, "64-returning-code");
  await courier(token, second, "returned", { code });
  await vendor.goto(`${BASE}/partners/orders/${second}/`);
  check((await text(vendor)).includes("Rendue au vendeur"), "returned");
  await shot(vendor, "65-returned");

  // 5. Another day, on another phone: the password is forgotten, and reset from the e-mail.
  const again = await (await phone(browser)).newPage();
  watch(again, "forgot");
  await again.goto(`${BASE}/accounts/login/`);
  await again.click("a[href='/accounts/password/forgot/']");
  await again.waitForURL("**/accounts/password/forgot/");
  await again.fill("#f-email", "vendeur@test.cm");
  await again.click("button[type=submit].btn");
  await again.waitForSelector("text=un lien vient d'y être envoyé");
  await shot(again, "66-forgot-sent");
  const mail = await eventually("the recovery e-mail", async () =>
    (await received("mails")).find((m) => m.to === "vendeur@test.cm" && m.body.includes("/accounts/password/reset/")));
  check(mail.subject.includes("nouveau mot de passe"), `the e-mail's subject: ${mail.subject}`);
  const link = mail.body.match(/https?:\/\/\S+\/accounts\/password\/reset\/[A-Za-z0-9_-]+\//)[0];
  await again.goto(link);
  await again.fill("#f-new_password", "un-nouveau-mot-de-passe");
  await shot(again, "67-reset-form");
  await again.click("button[type=submit].btn");
  await again.waitForURL("**/accounts/login/?reset=1");
  check((await text(again)).includes("Mot de passe changé"), "told the password changed");
  // The session on the first phone ended with the old password: its open page follows it to the
  // login page by itself (its stream says `ended`), and a page asked for there goes there too.
  await vendor.waitForURL("**/accounts/login/?ended=1**", { timeout: 15000 });
  await vendor.goto(`${BASE}/partners/dashboard/`);
  check(vendor.url().includes("/accounts/login/"), `the old session ended (${vendor.url()})`);
  await login(again, "vendeur@test.cm", "un-nouveau-mot-de-passe", "**/partners/dashboard/");
  await again.goto(link);
  check((await text(again)).includes("Ce lien ne sert plus"), "the link served once");
  console.log("bookings, reattempt, return, label, texts and recovery scenario passed");
} finally {
  await browser.close();
}
