// DELIVR-CM portal: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.querySelector(btn.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    navigator.clipboard.writeText(src.value || src.textContent).then(function () {
      btn.setAttribute("data-copied", "1");
    });
  });
  // Destructive actions ask first, naming their object (data-confirm, on the form or on the
  // button that submits it); once confirmed, the form says so (its `confirmed` field). Without
  // this file the server asks on a page of its own.
  document.addEventListener("submit", function (e) {
    var form = e.target, field = form.querySelector && form.querySelector('input[name="confirmed"]');
    if (!field) return;
    var q = (e.submitter && e.submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!q) return;
    if (window.confirm(q)) { field.value = "1"; return; }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);
  // Feedback at once, whatever the network: a submitted form's button is disabled and says
  // what it does (data-busy, else it only dims), until the answer comes (or the page is shown
  // again from the history). Disabled after the event, so that its name and value are sent.
  // (htmx prevents a boosted form's default: that is its own sending. A form held back here,
  // by the dialog or offline, stops the event before it reaches this listener.)
  document.addEventListener("submit", function (e) {
    // A form that opens elsewhere (a PDF in a new tab) leaves this page as it is.
    if (e.target.getAttribute && e.target.getAttribute("target")) return;
    var btn = e.submitter || (e.target.querySelector && e.target.querySelector("button[type=submit]"));
    if (!btn || btn.disabled) return;
    setTimeout(function () {
      btn.disabled = true;
      btn.setAttribute("aria-busy", "true");
      if (btn.dataset.busy) { btn.dataset.label = btn.textContent; btn.textContent = btn.dataset.busy; }
    }, 0);
  });
  function unbusy(root) {
    (root || document).querySelectorAll("button[aria-busy=true]").forEach(function (btn) {
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
      if (btn.dataset.label) { btn.textContent = btn.dataset.label; delete btn.dataset.label; }
    });
  }
  // Only the form whose answer came: another request finishing (the price) leaves it busy.
  document.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.tagName === "FORM") unbusy(elt);
  });
  window.addEventListener("pageshow", function () { unbusy(); });
  // A box that computes something (the price) says so while it does (data-loading), and
  // offline says when it will be done (data-offline).
  document.addEventListener("htmx:beforeRequest", function (e) {
    var box = e.detail.target;
    if (!box || !box.dataset || !box.dataset.loading || e.detail.requestConfig.boosted) return;
    if (!navigator.onLine && box.dataset.offline) {
      e.preventDefault();
      box.innerHTML = "";
      var off = document.createElement("p");
      off.className = "muted";
      off.textContent = box.dataset.offline;
      box.appendChild(off);
      return;
    }
    box.setAttribute("aria-busy", "true");
    var p = document.createElement("p");
    p.className = "muted loading";
    p.textContent = box.dataset.loading;
    box.innerHTML = "";
    box.appendChild(p);
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var box = e.detail.target;
    if (box && box.removeAttribute) box.removeAttribute("aria-busy");
  });
  // Back online: what said "offline" is over, and goes (the page is not reloaded under the
  // user: browsers may say "online" as a page opens, and drafts may be on their way).
  window.addEventListener("online", function () {
    var note = document.querySelector(".offline-note[data-offline]");
    if (note && navigator.onLine) note.remove();
  });
  // Branding: a swatch, the suggestion or the colour picker fills the colour field (and the
  // live preview follows).
  function setColor(value) {
    var field = document.getElementById("f-brand_color");
    if (!field) return;
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    var picker = document.querySelector("[data-color-picker]");
    if (picker && /^#[0-9a-f]{6}$/i.test(value)) picker.value = value;
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-color]");
    if (b) setColor(b.getAttribute("data-color"));
  });
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-color-picker]")) setColor(e.target.value);
  });
  // The "Plus" sheet of the phone's tab bar closes on a tap outside it and on Escape (it is a
  // <details>: without this file it opens and closes with its own button).
  document.addEventListener("click", function (e) {
    var open = document.querySelector(".tabbar details[open]");
    if (open && !open.contains(e.target)) open.removeAttribute("open");
  });
  document.addEventListener("keydown", function (e) {
    var open = document.querySelector(".tabbar details[open]");
    if (open && e.key === "Escape") { open.removeAttribute("open"); open.querySelector("summary").focus(); }
  });
  // The session behind the page's event stream ended (logout elsewhere, suspension, password
  // change, expiry): go to the login page, which brings the vendor back here once signed in.
  // A form of this page that ends the session itself (logout, sign out everywhere, a new
  // password) leads the page on its own: the stream's end is expected then.
  var leaving = 0;
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("[data-ends-session]")) leaving = Date.now();
  }, true);
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (!e.target || e.target.id !== "session-end") return;
    e.preventDefault();
    if (Date.now() - leaving < 10000) return;
    var here = location.pathname + location.search;
    location.assign("/accounts/login/?ended=1&next=" + encodeURIComponent(here));
  });
  // Live parts ([data-live]: an order page, the rows of the list) fetch themselves again when
  // the stream names their order. When the stream could not resume where the page left it
  // (its `refresh` event) or came back after a cut, each asks again; the notification feed,
  // which only appends, reloads its page.
  function refreshLive() {
    if (document.getElementById("notif-list")) { location.reload(); return; }
    document.querySelectorAll("[data-live]").forEach(function (el) { htmx.trigger(el, "live-refresh"); });
  }
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (!e.target || e.target.id !== "stream-refresh") return;
    e.preventDefault();
    refreshLive();
  });
  // The first opening follows the page's own rendering: what changed in between is fetched
  // when that gap was long (a slow network), and again after every cut.
  var opened = 0;
  document.addEventListener("htmx:sseOpen", function () {
    if (opened++ > 0 || (window.performance && performance.now() > 1500)) refreshLive();
  });
  // A live part does not fetch itself while a form inside it is being sent: the new part would
  // take the form out of the page and its answer (the next page) would be dropped.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live") || e.detail.requestConfig.boosted) return;
    // A part already replaced (its stream listener fires once more before it goes) asks nothing.
    if (!document.body.contains(elt) || elt.querySelector(".htmx-request, [aria-busy=true]")) e.preventDefault();
  });
  // A live part does not replace a field being typed in: it waits until the field is left.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target, active = document.activeElement;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-live") || !active || !target.contains(active)) return;
    if (!active.matches("input, textarea, select") || !active.value) return;
    e.detail.shouldSwap = false;
    active.addEventListener("blur", function () { htmx.trigger(target, "live-refresh"); }, { once: true });
  });
  // The notification feed keeps one entry per order: a newer one, arrived live, takes the
  // place of the older (and of its "mark read" button).
  document.addEventListener("htmx:sseMessage", function (e) {
    if (!e.target || e.target.id !== "notif-list") return;
    var seen = {};
    e.target.querySelectorAll("li.notif[data-order]").forEach(function (li) {
      var order = li.getAttribute("data-order");
      if (!seen[order]) { seen[order] = true; return; }
      var next = li.nextElementSibling;
      if (next && next.classList.contains("notif-action")) next.remove();
      li.remove();
    });
  });
  // Order detail: the courier's position, live, from the page's event stream.
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (!e.target || e.target.id !== "order-position") return;
    e.preventDefault();
    var p;
    try { p = JSON.parse(e.detail.data); } catch (err) { return; }
    var out = document.getElementById("live-position");
    if (!out || p.id !== e.target.dataset.order) return;
    var text = p.la.toFixed(5) + ", " + p.ln.toFixed(5);
    if (p.eta) text += " · " + out.dataset.eta.replace("{minutes}", String(p.eta));
    out.textContent = text;
  });
  // Selects that should submit their form when changed (e.g. the city picker reloads quartiers).
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]") && !window.htmx) el.form.requestSubmit();
  });

  // The installable, offline-capable portal: the service worker keeps the assets and the last
  // dashboard, orders list and new-order form (see assets/sw.js).
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
  // A boosted link that fails offline: load the page for real, so the worker can answer.
  // Once: a second failure (the same click seen twice) must not lead the page away again.
  var offlineLeaving = false;
  document.addEventListener("htmx:sendError", function (e) {
    var path = e.detail && e.detail.pathInfo && e.detail.pathInfo.requestPath;
    var boosted = e.detail && e.detail.requestConfig && e.detail.requestConfig.boosted;
    if (!boosted || !path || navigator.onLine || offlineLeaving) return;
    offlineLeaving = true;
    window.location.href = path;
  });

  // Orders drafted offline wait on the device and are sent when the connection returns, each
  // with its own key: sent twice, it still makes one order.
  var QUEUE = "delivr-offline-orders";
  var FAILED = "delivr-offline-failed";
  function load(name) { try { return JSON.parse(localStorage.getItem(name) || "[]"); } catch (err) { return []; } }
  function store(name, list) { try { localStorage.setItem(name, JSON.stringify(list)); } catch (err) { /* storage full */ } }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function texts() { var t = document.getElementById("offline-texts"); return t ? t.dataset : null; }
  function note(kind, text, href, linkText) {
    var main = document.getElementById("main");
    if (!main || !text) return;
    var div = document.createElement("div");
    div.className = "flash " + kind + " offline-queue";
    div.setAttribute("role", kind === "err" ? "alert" : "status");
    div.textContent = text + " ";
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = linkText;
      div.appendChild(a);
    }
    main.insertBefore(div, main.firstChild);
  }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (err) { return ""; }
  }
  // Capture phase: before htmx's boosted submit.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("#order-form") || navigator.onLine || !texts()) return;
    if (e.submitter && e.submitter.name === "refresh") return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var fields = [];
    new FormData(form).forEach(function (v, k) { if (k !== "csrf" && k !== "refresh") fields.push([k, String(v)]); });
    var queue = load(QUEUE);
    queue.push({ key: newKey(), fields: fields, at: Date.now() });
    store(QUEUE, queue);
    form.reset();
    note("warn", texts().queued.replace("{n}", String(queue.length)));
    window.scrollTo(0, 0);
  }, true);
  var sending = false;
  function flush() {
    var t = texts();
    var queue = load(QUEUE);
    if (!t || sending || !queue.length || !navigator.onLine) return;
    sending = true;
    var draft = queue[0];
    var body = new URLSearchParams(draft.fields);
    fetch("/partners/orders/new/", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Idempotency-Key": draft.key, "X-CSRF-Token": csrf() },
    }).then(function (resp) {
      sending = false;
      if (resp.url.indexOf("/accounts/login/") >= 0) { note("warn", t.login); return; }
      var sent = /\/partners\/orders\/[0-9a-f-]+\//.exec(resp.url);
      if (resp.ok && sent) {
        store(QUEUE, load(QUEUE).filter(function (d) { return d.key !== draft.key; }));
        // "Offline, n waiting" is no longer true: it goes; what was sent is said instead.
        document.querySelectorAll(".offline-queue.warn").forEach(function (n) { n.remove(); });
        note("ok", t.sent, sent[0], t.see);
        flush();
      } else if (resp.status === 422) {
        store(QUEUE, load(QUEUE).filter(function (d) { return d.key !== draft.key; }));
        var failed = load(FAILED);
        failed.push(draft);
        store(FAILED, failed);
        note("err", t.failed, "/partners/orders/new/?draft=" + encodeURIComponent(draft.key), t.resume);
        flush();
      }
    }).catch(function () { sending = false; });
  }
  window.addEventListener("online", flush);
  flush();
  // A draft that the server refused: back into the form, to fix and send.
  var wanted = new URLSearchParams(window.location.search).get("draft");
  var form = document.getElementById("order-form");
  if (wanted && form) {
    var failed = load(FAILED);
    var draft = failed.filter(function (d) { return d.key === wanted; })[0];
    if (draft) {
      draft.fields.forEach(function (f) {
        var el = form.elements.namedItem(f[0]);
        if (el && el.type !== "hidden") el.value = f[1];
      });
      store(FAILED, failed.filter(function (d) { return d.key !== wanted; }));
    }
  }
})();
