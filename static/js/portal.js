// The portal's shared behaviour: theme toggle, toasts, the polite live region, dialogs,
// the search shortcut and forms that submit on change. Sections build on window.Portal.
(function () {
  "use strict";

  var THEME_KEY = "ops-theme";
  var TOAST_MILLISECONDS = 8000;

  function systemTheme() {
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function currentTheme() {
    var chosen = document.documentElement.getAttribute("data-theme");
    return chosen === "light" || chosen === "dark" ? chosen : systemTheme();
  }

  function themeToggleSync() {
    var dark = currentTheme() === "dark";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    });
    document.dispatchEvent(new CustomEvent("portal:theme", { detail: { theme: currentTheme() } }));
  }

  function themeToggle() {
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem(THEME_KEY, next); } catch (error) { /* storage blocked */ }
    themeToggleSync();
  }

  // Reads a colour token of the current theme, for code that draws (charts).
  function cssColor(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function announce(text) {
    var region = document.getElementById("live-region");
    if (!region) return;
    // Clearing first makes a screen reader repeat a message equal to the previous one.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // kind: "success", "error" or "info"; link: {href, text} shown after the message.
  function toast(message, options) {
    options = options || {};
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (options.kind || "info");
    item.setAttribute("role", options.kind === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    item.appendChild(text);
    if (options.link) {
      var anchor = document.createElement("a");
      anchor.href = options.link.href;
      anchor.textContent = options.link.text;
      item.appendChild(document.createTextNode(" "));
      item.appendChild(anchor);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    box.appendChild(item);
    window.setTimeout(function () { item.remove(); }, options.milliseconds || TOAST_MILLISECONDS);
  }

  // A native modal <dialog> traps focus and closes on Escape; focus returns to the opener.
  function dialogOpen(dialog, opener) {
    if (!dialog || dialog.open) return;
    dialog._opener = opener || document.activeElement;
    dialog.showModal();
    // An [autofocus] field wins over the fields before it, such as a close button.
    var first = dialog.querySelector("[autofocus]") ||
      dialog.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
  }

  function dialogClose(dialog) {
    if (dialog && dialog.open) dialog.close();
  }

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName === "DIALOG" && dialog._opener && document.contains(dialog._opener)) {
      dialog._opener.focus();
    }
  }, true);

  // "/" focuses the first search field, as in many web apps; typing in a field is left alone.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest("input, textarea, select, [contenteditable=true]")) return;
    var search = document.querySelector("[data-search-shortcut]");
    if (!search) return;
    event.preventDefault();
    search.focus();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      dialogOpen(document.getElementById(opener.getAttribute("data-dialog-open")), opener);
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) dialogClose(closer.closest("dialog"));
    if (event.target.closest("[data-theme-toggle]")) themeToggle();
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form) form.requestSubmit();
  });

  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", themeToggleSync);
  document.addEventListener("DOMContentLoaded", themeToggleSync);

  window.Portal = {
    announce: announce,
    toast: toast,
    dialogOpen: dialogOpen,
    dialogClose: dialogClose,
    cssColor: cssColor,
    theme: currentTheme,
  };
})();
