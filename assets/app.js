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
})();
