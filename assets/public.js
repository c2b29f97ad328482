// Public tracking page: the ETA follows the courier while the delivery moves; a status change
// reloads the page. Without this file the page still shows everything as of its loading.
(function () {
  "use strict";
  var el = document.getElementById("live");
  if (!el || !window.EventSource) return;
  var source = new EventSource(el.dataset.stream);
  source.addEventListener("position", function (e) {
    var p;
    try { p = JSON.parse(e.data); } catch (err) { return; }
    if (p.eta) el.textContent = el.dataset.template.replace("{minutes}", String(p.eta));
  });
  source.addEventListener("status", function () { window.location.reload(); });
})();
