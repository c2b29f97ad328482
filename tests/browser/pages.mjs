// Every portal page at phone width (360 px), as the vendor and as the admin: the document never
// scrolls sideways, every section of the navigation is within two taps, every control is big
// enough to tap (WCAG 2.2's target size: 24×24 CSS px at least, or spaced so that a 24 px
// circle on it touches no other target; inline links in a sentence are exempt, as WCAG says),
// and a French page shows no English text of the catalogue (nor an English page French text).
// A screenshot of each page.
import fs from "node:fs";
import { BASE, launch, phone, shot, check, watch, htmxReady, login } from "./lib.mjs";

const catalogue = JSON.parse(fs.readFileSync(process.env.CATALOGUE, "utf8"));
// Texts that differ between the languages and are long enough to be unambiguous.
const only = (lang) => catalogue.filter((m) => m.fr !== m.en && m[lang].length >= 14 && !m[lang].includes("{"))
  .map((m) => m[lang]);
const englishOnly = only("en");
const frenchOnly = only("fr");
check(englishOnly.length > 200 && frenchOnly.length > 200, "the catalogue was read");

async function measure(page) {
  return page.evaluate(() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) problems.push(`scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const targets = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || style.visibility === "hidden") return false;
        // Inline links within a sentence are exempt (WCAG 2.5.8's "inline" exception).
        if (el.tagName === "A" && style.display === "inline") return false;
        // A radio or checkbox inside its label: the label is the target.
        if (el.matches("input[type=radio], input[type=checkbox]") && el.closest("label")) return false;
        return true;
      });
    const rects = targets.map((el) => el.getBoundingClientRect());
    targets.forEach((el, i) => {
      const r = rects[i];
      if (r.width >= 24 && r.height >= 24) return;
      // Undersized: a 24 px circle centred on it must not touch another target.
      const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      const crowded = rects.some((o, j) => j !== i && !(targets[j].contains(el) || el.contains(targets[j])) &&
        Math.max(o.left - cx, 0, cx - o.right) ** 2 + Math.max(o.top - cy, 0, cy - o.bottom) ** 2 < 12 * 12);
      if (crowded) problems.push(`small target ${Math.round(r.width)}×${Math.round(r.height)}: ${el.outerHTML.slice(0, 90)}`);
    });
    return problems;
  });
}

async function language(page, lang) {
  const body = await page.evaluate(() => {
    // What the reader sees: visible text and the labels of controls (the API docs aside).
    return document.body.innerText + "\n" + [...document.querySelectorAll("[placeholder],[aria-label],[title]")]
      .map((e) => e.getAttribute("placeholder") || e.getAttribute("aria-label") || e.getAttribute("title")).join("\n");
  });
  const foreign = (lang === "fr" ? englishOnly : frenchOnly).filter((t) => body.includes(t));
  return foreign.map((t) => `${lang === "fr" ? "English" : "French"} text on a ${lang} page: ${t}`);
}

async function walk(page, label, paths, lang) {
  const failures = [];
  for (const path of paths) {
    await page.goto(`${BASE}${path}`);
    const problems = [...await measure(page), ...await language(page, lang)];
    problems.forEach((p) => failures.push(`${path}: ${p}`));
    await shot(page, `90-${label}-${lang}${path.replace(/[^a-z0-9]+/gi, "-")}`);
  }
  return failures;
}

/** Every place of the navigation is a tab, or in the "Plus" sheet (two taps). */
async function twoTaps(page) {
  const reach = await page.evaluate(() => {
    const tabs = [...document.querySelectorAll(".tabbar > ul > li > a")].map((a) => a.getAttribute("href"));
    const sheet = [...document.querySelectorAll(".tabbar .sheet a")].map((a) => a.getAttribute("href"));
    const all = [...document.querySelectorAll("nav.nav a")].map((a) => a.getAttribute("href"));
    return { tabs, sheet, all };
  });
  const missing = reach.all.filter((h) => !reach.tabs.includes(h) && !reach.sheet.includes(h));
  check(missing.length === 0, `sections beyond two taps: ${missing}`);
  check(reach.tabs.length <= 4, "at most four tabs and Plus");
  return reach.all;
}

const browser = await launch();
const failures = [];
try {
  // The vendor, with an order to look at.
  const vendor = await (await phone(browser)).newPage();
  watch(vendor, "vendor");
  await login(vendor, "vendeur@test.cm", "vendeur-password-1", "**/partners/dashboard/");
  const sections = await twoTaps(vendor);
  await vendor.goto(`${BASE}/partners/orders/new/`);
  await htmxReady(vendor, "#quote");
  await vendor.fill("#f-recipient_name", "Paul Nkwi");
  await vendor.fill("#f-recipient_phone", "677 98 76 54");
  await vendor.selectOption("#f-dropoff_quartier", { label: "Makepe" });
  await vendor.fill("#f-dropoff_address", "Derrière la pharmacie");
  await vendor.fill("#f-package_description", "Chaussures");
  await vendor.fill("#f-cod_amount", "15000");
  await vendor.click("#order-form button[type=submit]:not([name])");
  await vendor.waitForURL(/\?created=1$/);
  const order = new URL(vendor.url()).pathname;
  const vendorPages = [...sections, "/partners/orders/new/", order,
    "/partners/orders/import/", "/partners/wallet/statement/", "/partners/api/quickstart/"];
  failures.push(...await walk(vendor, "vendor", vendorPages, "fr"));
  // The same in English (the language switcher).
  await vendor.click(".langs button[value=en]");
  await vendor.waitForFunction(() => document.documentElement.lang === "en");
  failures.push(...await walk(vendor, "vendor", ["/partners/dashboard/", "/partners/orders/", order, "/partners/wallet/"], "en"));

  // The admin.
  const admin = await (await phone(browser)).newPage();
  watch(admin, "admin");
  await login(admin, "admin@delivr.cm", "admin-password-1", "**/admin/**");
  const adminSections = await twoTaps(admin);
  const orderId = order.split("/")[3];
  failures.push(...await walk(admin, "admin", [...adminSections, `/admin/orders/${orderId}/`], "fr"));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("every page fits a phone and speaks one language");
