// Runs in <head> before the page paints, so a saved theme never flashes the other one.
(function () {
  "use strict";
  var saved = null;
  try { saved = localStorage.getItem("ops-theme"); } catch (error) { /* storage blocked */ }
  if (saved === "light" || saved === "dark") {
    document.documentElement.setAttribute("data-theme", saved);
  }
})();
