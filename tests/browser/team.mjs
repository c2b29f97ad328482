// A shop becomes a team, at phone width: the owner invites an accountant by e-mail from the
// team page; the accountant opens the link on their own phone, makes their sign-in and lands
// in the shop, reads the wallet but is offered no payout (and refused one by address); the
// owner sees them on the team page and removes them: their open page goes to the login page
// at once (its live stream ends with the session). The SMTP server
// is local (what it received is read from RECEIVER).
import { BASE, launch, phone, shot, check, text, watch, login, navigate } from "./lib.mjs";

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
  console.log("team scenario passed");
} finally {
  await browser.close();
}
