// A shop becomes a team, at phone width: the owner invites an accountant by e-mail from the
// team page; the accountant opens the link on their own phone, makes their sign-in and lands
// in the shop, reads the wallet but is offered no payout (and refused one by address); the
// owner sees them on the team page and removes them: their open page goes to the login page
// at once (its live stream ends with the session). Then the money: the admin credits the
// shop; the owner turns on two-factor (the QR code's key, a code computed here as an
// authenticator app would), signs in again with a code and requests a payout; the security
// log lists all of it. The SMTP server is local (what it received is read from RECEIVER).
import { createHmac } from "node:crypto";
import { BASE, launch, phone, shot, check, text, watch, login, navigate } from "./lib.mjs";

// RFC 6238 as an authenticator app computes it: base32 key, SHA-1, 30 s steps, 6 digits.
function totp(key, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}
const stepNow = () => Math.floor(Date.now() / 1000 / 30);

const RECEIVER = process.env.RECEIVER;

async function eventually(what, f, secs = 20) {
  for (let i = 0; i < secs * 5; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const received = async (what) => (await fetch(`${RECEIVER}/${what}`)).json();

const browser = await launch();
try {
  // 1. The owner invites an accountant.
  const owner = await (await phone(browser)).newPage();
  watch(owner, "owner");
  await login(owner, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  await navigate(owner, "Équipe");
  await owner.waitForURL("**/partners/team/");
  await owner.fill("#f-contact", "clarisse@test.cm");
  await owner.selectOption("#f-role", "ACCOUNTANT");
  await shot(owner, "80-team-invite");
  await owner.click("form[action='/partners/team/invite/'] button[type=submit]");
  await owner.waitForURL("**/partners/team/?done=invited");
  check((await text(owner)).includes("Invitation envoyée"), "told the invitation left");
  check((await text(owner)).includes("clarisse@test.cm"), "the invitation waits on the page");
  const mail = await eventually("the invitation e-mail", async () =>
    (await received("mails")).find((m) => m.to === "clarisse@test.cm" && m.body.includes("/accounts/invitations/")));
  check(mail.subject.includes("Boutique Test"), `the e-mail's subject: ${mail.subject}`);
  const link = mail.body.match(/https?:\/\/\S+\/accounts\/invitations\/[A-Za-z0-9_-]+\//)[0];

  // 2. The accountant, on their phone: the link, their sign-in, the shop.
  const accountant = await (await phone(browser)).newPage();
  watch(accountant, "accountant");
  await accountant.goto(link);
  const invitation = await text(accountant);
  check(invitation.includes("Boutique Test") && invitation.includes("Comptable"), "the invitation says which shop and which role");
  await accountant.fill("#f-full_name", "Clarisse Ndzie");
  check(await accountant.inputValue("#f-email") === "clarisse@test.cm", "the address is filled in");
  await accountant.fill("#f-password", "clarisse-mot-de-passe");
  await shot(accountant, "81-invitation-accept");
  await accountant.click("button[type=submit].btn");
  await accountant.waitForURL("**/partners/dashboard/");
  await navigate(accountant, "Portefeuille");
  await accountant.waitForURL("**/partners/wallet/");
  const wallet = await text(accountant);
  check(wallet.includes("Solde"), "the accountant reads the wallet");
  check(wallet.includes("Seul le propriétaire de la boutique demande des retraits"), "and is told payouts are the owner's");
  check(await accountant.locator("form[action='/partners/wallet/payouts/']").count() === 0, "no payout form");
  await shot(accountant, "82-accountant-wallet");
  // By address, the payout is refused.
  const refused = await accountant.evaluate(async () => {
    const csrf = document.querySelector("input[name=csrf]")?.value || "";
    const r = await fetch("/partners/wallet/payouts/", {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, amount: "5000", phone: "677987654", operator: "MTN" }),
    });
    return r.status;
  });
  check(refused === 403, `a payout by address is refused (${refused})`);
  const nav = await accountant.locator("a[href='/partners/team/']").count();
  check(nav === 0, "no team link for an accountant");

  // 3. The owner sees the new member, then removes them: their session ends.
  await owner.goto(`${BASE}/partners/team/`);
  check((await text(owner)).includes("Clarisse Ndzie"), "the accountant is in the team");
  await shot(owner, "83-team-members");
  const remove = owner.locator("li.member", { hasText: "Clarisse Ndzie" }).locator("form[action$='/remove/'] button");
  owner.once("dialog", (d) => d.accept());
  await remove.click();
  await owner.waitForURL("**/partners/team/?done=removed");
  check(!(await text(owner)).includes("Clarisse Ndzie"), "removed from the list");
  // Their open page hears its session end on its live stream and goes to the login page.
  await accountant.waitForURL("**/accounts/login/**");
  await accountant.goto(`${BASE}/partners/dashboard/`);
  check(accountant.url().includes("/accounts/login/"), `the accountant's session ended (${accountant.url()})`);
  // The link served once.
  await accountant.goto(link);
  check((await text(accountant)).includes("Invitation expirée ou déjà utilisée"), "the link is spent");

  // 4. The admin credits the shop (a manual adjustment, with its reason).
  const admin = await (await phone(browser)).newPage();
  watch(admin, "admin");
  await login(admin, "admin@delivr.cm", "admin-password-1", "**/admin/partners/");
  await admin.click("a:has-text('Boutique Test')");
  await admin.waitForURL("**/admin/partners/*/");
  await admin.fill("#f-amount", "20000");
  await admin.fill("#f-adjust_reason", "Avance convenue");
  await admin.click("form[action$='/adjust/'] button[type=submit]");
  await admin.waitForURL("**done=adjusted");

  // 5. The owner turns on two-factor from the profile.
  await owner.goto(`${BASE}/partners/profile/`);
  await owner.click("a:has-text('Activer la double authentification')");
  await owner.waitForURL("**/accounts/two-factor/setup/**");
  check(await owner.locator("svg").count() > 0, "a QR code to scan");
  const key = (await owner.locator("#totp-secret").innerText()).replace(/\s/g, "");
  await shot(owner, "84-two-factor-setup");
  const first = stepNow();
  await owner.fill("#f-code", totp(key, first));
  await owner.click("form[action='/accounts/two-factor/setup/'] button[type=submit]");
  await owner.locator("li > code").nth(9).waitFor();
  check((await owner.locator("li > code").count()) === 10, "ten recovery codes, shown once");
  await shot(owner, "85-two-factor-recovery-codes");

  // 6. Signing in again takes a code (the next step: the first one is spent).
  await owner.goto(`${BASE}/partners/profile/`);
  await owner.evaluate(() => document.querySelector("form[action='/accounts/logout/']").requestSubmit());
  await owner.waitForURL("**/accounts/login/**");
  await owner.fill("#f-email", "vendeur@test.cm");
  await owner.fill("#f-password", "vendeur-password-1");
  await owner.click("form[action^='/accounts/login/'] button[type=submit]");
  await owner.waitForURL("**/accounts/two-factor/**");
  await shot(owner, "86-two-factor-sign-in");
  await owner.fill("#f-code", totp(key, Math.max(first + 1, stepNow())));
  await owner.click("form[action='/accounts/two-factor/'] button[type=submit]");
  await owner.waitForURL("**/partners/dashboard/");

  // 7. The payout, asked by the owner.
  await navigate(owner, "Portefeuille");
  await owner.waitForURL("**/partners/wallet/");
  await owner.fill("#f-amount", "10000");
  await owner.fill("#f-phone", "677987654");
  await owner.check("input[name=operator][value=MTN]");
  await owner.click("form[action='/partners/wallet/payouts/'] button[type=submit]");
  await eventually("the payout listed", async () => (await text(owner)).includes("En attente"));
  await shot(owner, "87-owner-payout");

  // 8. The security log lists it all, newest first.
  await navigate(owner, "Journal de sécurité");
  await owner.waitForURL("**/partners/audit/");
  const log = await text(owner);
  for (const seen of ["Invitation envoyée", "Membre arrivé", "Accès refusé", "Membre retiré",
                      "Double authentification activée", "Connexion", "Retrait demandé", "clarisse@test.cm"]) {
    check(log.includes(seen), `the log lists: ${seen}`);
  }
  await shot(owner, "88-security-log");
  const wide = await owner.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 360, `the log fits a 360 px screen (${wide})`);
  console.log("team scenario passed");
} finally {
  await browser.close();
}
