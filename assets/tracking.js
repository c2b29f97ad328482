// DELIVR-CM live tracking map: Leaflet markers for deliveries in progress, moved by the
// page's server-sent `position` events. The list beside the map works without this file.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L || el.dataset.ready) return;
  el.dataset.ready = "1";
  var markers = JSON.parse(el.dataset.markers || "[]");
  var map = L.map(el, { zoomControl: true, attributionControl: true }).setView([4.05, 9.72], 12);
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "© OpenStreetMap" }).addTo(map);
  var colours = { ASSIGNED: "#9a5b00", PICKED_UP: "#e8a317", IN_TRANSIT: "#0f6e55" };
  var byId = {};
  var refreshed = {};
  var bounds = [];
  markers.forEach(function (m) {
    var c = colours[m.s] || "#5b6762";
    var marker = L.circleMarker([m.la, m.ln], { radius: 9, color: "#fff", weight: 2, fillColor: c, fillOpacity: 0.95 }).addTo(map);
    marker.bindTooltip(m.t);
    L.circleMarker([m.dla, m.dln], { radius: 5, color: c, weight: 2, fillOpacity: 0 }).addTo(map);
    byId[m.id] = marker;
    bounds.push([m.la, m.ln], [m.dla, m.dln]);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (!e.target || e.target.id !== "live-positions") return;
    e.preventDefault();
    var p;
    try { p = JSON.parse(e.detail.data); } catch (err) { return; }
    var marker = byId[p.id];
    if (marker) {
      marker.setLatLng([p.la, p.ln]);
      marker.setStyle({ fillColor: colours[p.s] || "#5b6762" });
    } else {
      byId[p.id] = L.circleMarker([p.la, p.ln], { radius: 9, color: "#fff", weight: 2, fillColor: colours[p.s] || "#5b6762", fillOpacity: 0.95 }).addTo(map).bindTooltip(p.t);
    }
    var row = document.getElementById("trk-" + p.id);
    if (!row && window.htmx && !refreshed[p.id]) {
      // A delivery the list does not show yet: refresh the list once.
      refreshed[p.id] = true;
      htmx.ajax("GET", "/partners/tracking/", { target: "#tracking-list", select: "#tracking-list", swap: "outerHTML" });
    }
    if (row && p.eta) {
      var eta = row.querySelector(".eta");
      if (eta) eta.textContent = eta.textContent.replace(/\d+/, String(p.eta));
    }
    el.dataset.updates = String((parseInt(el.dataset.updates || "0", 10)) + 1);
  });
})();
