// Home: Quick Actions. The dialog forms and lookups post with htmx. This script swaps in
// their field errors, shows the toasts the server requests, reads barcode scanner input
// and opens the transfer dialog prefilled from the overview's buttons.
(function () {
  "use strict";

  var SECTION = "#quick-actions";
  // A barcode scanner types like a very fast keyboard that ends with Enter: a key less than
  // SCAN_GAP_MILLISECONDS after the previous one continues a burst, and a burst of at least
  // SCAN_MIN_KEYS keys counts as a scan.
  var SCAN_GAP_MILLISECONDS = 30;
  var SCAN_MIN_KEYS = 4;

  function inSection(element) {
    return Boolean(element && element.closest && element.closest(SECTION));
  }

  function firstInvalid(form) {
    return Array.prototype.find.call(form.elements, function (element) {
      return element.willValidate && !element.checkValidity();
    });
  }

  // Enter in a dialog's scan field submits once every required field is set, else moves to
  // the first field still missing, so a scan never submits half a form.
  function submitOrAdvance(form) {
    var missing = firstInvalid(form);
    if (missing) {
      missing.focus();
    } else {
      form.requestSubmit();
    }
  }

  // The server returns 422 with the form and its field errors, and 404 with a lookup's
  // "not found" message. Both are meant to be shown, unlike other error statuses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!inSection(event.detail.elt)) return;
    if (xhr.status === 422 || xhr.status === 404) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (xhr.responseURL && xhr.responseURL.indexOf("/accounts/login/") !== -1) {
      // An expired session is redirected to the login page, which must not fill the dialog.
      event.detail.shouldSwap = false;
      Portal.toast("Your session has expired, so nothing was saved. Reload the page and log in " +
                   "again.", { kind: "error" });
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (inSection(event.detail.elt)) event.detail.elt.setAttribute("aria-busy", "true");
  });

  // htmx also sends this event when a newer lookup aborts a running one, so this handler
  // only ends the busy state. The two handlers below report real failures.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (inSection(event.detail.elt)) event.detail.elt.removeAttribute("aria-busy");
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (!inSection(event.detail.elt)) return;
    Portal.toast("The server could not be reached, so nothing was saved. Check the connection " +
                 "and try again.", { kind: "error" });
  });

  // Statuses other than 422 and 404: a stale CSRF token (403) or a server fault.
  document.addEventListener("htmx:responseError", function (event) {
    if (!inSection(event.detail.elt)) return;
    var message = event.detail.xhr.status === 403
      ? "The request was rejected (status 403), so nothing was saved. Reload the page and try again."
      : "The server failed to handle the request, so nothing was saved. Try again.";
    Portal.toast(message, { kind: "error" });
  });

  // After a swap, focus what the person must read or fix next in the open dialog.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!inSection(event.detail.elt) && !inSection(event.detail.target)) return;
    var dialog = document.querySelector(SECTION + " dialog[open]");
    if (!dialog) return;
    var next = dialog.querySelector("[aria-invalid=true], [data-focus-after-swap]");
    if (next) next.focus();
  });

  // Sent by the server in the HX-Trigger header once an action has been saved.
  document.addEventListener("actions:done", function (event) {
    var detail = event.detail || {};
    var dialog = detail.dialog && document.getElementById(detail.dialog);
    if (dialog) {
      dialog.actionSaved = true;
      Portal.dialogClose(dialog);
    }
    Portal.toast(detail.message, { kind: "success", link: detail.link });
  });

  // Each dialog's form as the server last served it without errors: at page load and
  // after each save. Closing a dialog without saving puts that copy back, so reopening it
  // shows no earlier item, quantity or error. Parts marked data-reset-remove (a
  // settlement's reconciliation) are left out of the copy.
  var pristineForms = {};

  function pristineKeep(dialog) {
    var form = dialog.querySelector("form");
    if (!form) return;
    var copy = form.cloneNode(true);
    copy.querySelectorAll("[data-reset-remove]").forEach(function (part) { part.remove(); });
    pristineForms[dialog.id] = copy.outerHTML;
  }

  function dialogReset(dialog) {
    var html = pristineForms[dialog.id];
    var form = dialog.querySelector("form");
    if (!html || !form) return;
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = template.content.firstElementChild;
    form.replaceWith(fresh);
    window.htmx.process(fresh);
  }

  document.querySelectorAll(SECTION + " dialog").forEach(pristineKeep);

  document.addEventListener("htmx:afterSettle", function (event) {
    var form = event.target;
    var config = event.detail.requestConfig;
    if (!form.matches || !form.matches(SECTION + " dialog form")) return;
    if (config && config.verb === "post" && event.detail.xhr.status === 200) {
      pristineKeep(form.closest("dialog"));
    }
  });

  // "close" does not bubble, so this listens in the capture phase.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName !== "DIALOG" || !inSection(dialog)) return;
    if (dialog.actionSaved) {
      dialog.actionSaved = false;
      return;
    }
    dialogReset(dialog);
  }, true);

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!inSection(target) || !target.form) return;
    if (target.matches("[data-scan-field]")) {
      scanKeydown(event, target);
    } else if (event.key === "Enter" && target.type === "radio") {
      // Enter on a payment method submits the form. The server reports an unchosen method
      // like any other missing field.
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  function scanKeydown(event, field) {
    var now = event.timeStamp;
    if (event.key !== "Enter") {
      if (event.key.length === 1) {
        var quick = now - (field.scanLastKeyAt || 0) < SCAN_GAP_MILLISECONDS;
        field.scanKeys = quick ? (field.scanKeys || 0) + 1 : 1;
        field.scanLastKeyAt = now;
      }
      return;
    }
    var scanned = (field.scanKeys || 0) >= SCAN_MIN_KEYS &&
      now - (field.scanLastKeyAt || 0) < SCAN_GAP_MILLISECONDS * 3;
    field.scanKeys = 0;
    if (scanned) Portal.announce("Scanned " + field.value);

    if (field.form.classList.contains("lookup-form")) {
      // Enter runs the search; after a scan the text is selected, so the next scan replaces it.
      if (scanned) window.setTimeout(function () { field.select(); }, 0);
      return;
    }
    event.preventDefault();
    submitOrAdvance(field.form);
  }

  function storeSelect(select, value) {
    if (!select || !value) return;
    var option = Array.prototype.find.call(select.options, function (candidate) {
      return candidate.value === value || candidate.text.indexOf(value + " \u00b7") === 0;
    });
    // A store the user may not choose leaves the field empty, so they pick one themselves.
    select.value = option ? option.value : "";
  }

  // Buttons such as the low-stock list's "Transfer" carry data-from-store, data-to-store
  // (store id or code), data-sku and data-quantity.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-transfer-prefill]");
    var dialog = document.getElementById("transfer-dialog");
    var form = dialog && dialog.querySelector("form");
    if (!button || !form) return;
    event.preventDefault();
    // namedItem, because form.elements.item is the collection's item() method.
    var fields = form.elements;
    var quantity = fields.namedItem("quantity");
    storeSelect(fields.namedItem("from_store"), button.getAttribute("data-from-store"));
    storeSelect(fields.namedItem("to_store"), button.getAttribute("data-to-store"));
    fields.namedItem("item").value = button.getAttribute("data-sku") || "";
    quantity.value = button.getAttribute("data-quantity") || "1";
    Portal.dialogOpen(dialog, button);
    quantity.focus();
    quantity.select();
  });

  // Plain forms (the transfer page's Receive button) are sent once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-submit-once]")) return;
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = true;
    });
  });
})();
