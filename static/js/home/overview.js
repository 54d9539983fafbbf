// Home's store overview: KPI drill-down panels. Each KPI button loads its panel once with
// htmx (hx-trigger="click once") and then toggles it; one panel is open at a time. When the
// whole overview reloads after a sale, transfer or settlement, the panel that was open
// opens again with fresh figures.
(function () {
  "use strict";

  // The data-drilldown name of the panel open when the overview started to reload.
  var reopenPanel = null;

  function buttonFor(panel) {
    return document.querySelector('[data-drilldown][aria-controls="' + panel.id + '"]');
  }

  function collapse(button) {
    var panel = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", "false");
    if (panel) panel.hidden = true;
  }

  function expand(button) {
    document.querySelectorAll('[data-drilldown][aria-expanded="true"]').forEach(function (other) {
      if (other !== button) collapse(other);
    });
    var panel = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", "true");
    if (panel) panel.hidden = false;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-drilldown]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") collapse(button);
      else expand(button);
      return;
    }

    var opener = event.target.closest("[data-drilldown-open]");
    if (opener) {
      var target = document.querySelector('[data-drilldown="' + opener.getAttribute("data-drilldown-open") + '"]');
      if (!target) return;
      if (target.getAttribute("aria-expanded") !== "true") target.click();
      var panel = document.getElementById(target.getAttribute("aria-controls"));
      if (panel) {
        panel.scrollIntoView({ block: "nearest" });
        panel.focus({ preventScroll: true });
      }
      return;
    }

    var closer = event.target.closest("[data-drilldown-close]");
    if (closer) {
      var owner = buttonFor(closer.closest(".drilldown"));
      if (owner) {
        collapse(owner);
        owner.focus();
      }
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "stock-overview" && event.detail.shouldSwap) {
      var open = target.querySelector('[data-drilldown][aria-expanded="true"]');
      reopenPanel = open ? open.getAttribute("data-drilldown") : null;
      return;
    }
    // htmx does not swap a panel's 4xx responses by default, but their body is the message.
    if (!target || !target.classList.contains("drilldown")) return;
    var status = event.detail.xhr.status;
    if (status === 400 || status === 404) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // htmx fires "htmx:load" on the new overview once its buttons are bound; a click then
  // loads the panel and opens it without moving the focus.
  document.addEventListener("htmx:load", function (event) {
    if (!reopenPanel || event.detail.elt.id !== "stock-overview") return;
    var button = event.detail.elt.querySelector('[data-drilldown="' + reopenPanel + '"]');
    reopenPanel = null;
    if (button) button.click();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList.contains("drilldown")) return;
    var heading = target.querySelector("h3");
    window.Portal.announce((heading ? heading.textContent : "Details") + " loaded.");
  });

  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList.contains("drilldown")) return;
    window.Portal.toast("The details could not be loaded (HTTP " + event.detail.xhr.status +
      "). Reload the page and try again.", { kind: "error" });
  });

  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList.contains("drilldown")) return;
    window.Portal.toast("The portal did not answer. Check the connection and try again.",
      { kind: "error" });
  });
})();
