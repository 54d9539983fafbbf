// Home: the imports section. It renders the live state that window.PortalImports
// (static/js/import-status.js) keeps, uploads files through POST /api/imports, and runs
// the detail drawer with its retry and cancel buttons.
(function () {
  "use strict";

  var LIST_LIMIT = 10;
  var FIELD_BY_ERROR_KEY = { kind: "kind", file: "file", store: "default_store", default_store: "default_store",
                             price_list: "price_list", sheet: "sheet" };

  var section = document.querySelector("[data-imports-widget]");
  var imports = window.PortalImports;
  if (!section || !imports) return;

  var apiUrl = section.getAttribute("data-api-url");
  var drawer = document.getElementById("import-drawer");
  var drawerTaskId = null;
  var form = section.querySelector("[data-import-form]");
  var uploadKey = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function fields(root, name) {
    return root.querySelectorAll('[data-field="' + name + '"]');
  }

  function setText(root, name, text) {
    fields(root, name).forEach(function (element) { element.textContent = text; });
  }

  function reportUrl(job) {
    return job.error_report_url || apiUrl + "/" + encodeURIComponent(job.task_id) + "/errors.csv";
  }

  function badgeRender(root, job) {
    fields(root, "badge").forEach(function (badge) {
      badge.setAttribute("data-status", job.status);
      badge.className = "badge badge-" + imports.statusTone(job.status);
    });
    fields(root, "icon").forEach(function (icon) { imports.iconSet(icon, imports.statusIcon(job.status)); });
  }

  // --- the list --------------------------------------------------------------------------

  function list() {
    return document.getElementById("import-list");
  }

  function rowFind(taskId) {
    var rows = list() ? list().querySelectorAll("li[data-task-id]") : [];
    for (var index = 0; index < rows.length; index += 1) {
      if (rows[index].getAttribute("data-task-id") === taskId) return rows[index];
    }
    return null;
  }

  function rowCreate(job) {
    var template = document.getElementById("import-row-template");
    if (!template || !list()) return null;
    var row = template.content.firstElementChild.cloneNode(true);
    row.setAttribute("data-task-id", job.task_id);
    // Rows the server lists name who started the job and when; a row added here is new.
    setText(row, "meta", "just now");
    list().prepend(row);
    var rows = list().querySelectorAll("li[data-task-id]");
    for (var index = LIST_LIMIT; index < rows.length; index += 1) rows[index].remove();
    var empty = section.querySelector("[data-import-empty]");
    if (empty) empty.hidden = true;
    return row;
  }

  function rowRender(row, job) {
    row.setAttribute("data-status", job.status);
    setText(row, "kind", imports.kindText(job.kind));
    setText(row, "file_name", job.file_name);
    setText(row, "status", imports.statusText(job.status));
    badgeRender(row, job);
    fields(row, "progress").forEach(function (progress) {
      progress.value = job.pct || 0;
      progress.textContent = imports.pctText(job.pct);
      progress.setAttribute("aria-label", "Progress of " + job.file_name);
    });
    setText(row, "line", imports.lineText(job));
    fields(row, "error_report").forEach(function (link) {
      if (job.error_report_url) {
        link.href = job.error_report_url;
        link.hidden = false;
      } else {
        link.removeAttribute("href");
        link.hidden = true;
      }
    });
  }

  // A job that is not listed yet appears on top while it runs or when this page started it.
  // Finished jobs outside the ten most recent stay out of the list.
  function jobShow(job, options) {
    var row = rowFind(job.task_id);
    if (!row && (imports.isRunning(job.status) || (options && options.add))) row = rowCreate(job);
    if (row) rowRender(row, job);
    if (drawerTaskId === job.task_id) drawerRender(job);
  }

  function listSeed() {
    var data = document.getElementById("imports-initial");
    if (!data) return;
    try {
      imports.seed(JSON.parse(data.textContent));
    } catch (error) {
      return;
    }
    // The server's rows may be older than the state this page already holds.
    list().querySelectorAll("li[data-task-id]").forEach(function (row) {
      var job = imports.get(row.getAttribute("data-task-id"));
      if (job) rowRender(row, job);
    });
  }

  // --- the drawer ------------------------------------------------------------------------

  function drawerRender(job) {
    setText(drawer, "kind", imports.kindText(job.kind));
    setText(drawer, "file_name", job.file_name);
    setText(drawer, "phase", imports.phaseText(job.status));
    badgeRender(drawer, job);
    fields(drawer, "failure").forEach(function (failure) {
      failure.textContent = job.status === "failed" ? (job.failure_reason || "No reason was recorded.") : "";
      failure.hidden = job.status !== "failed";
    });
    fields(drawer, "progress").forEach(function (progress) {
      progress.value = job.pct || 0;
      progress.textContent = imports.pctText(job.pct);
      progress.setAttribute("aria-label", "Progress of " + job.file_name);
    });
    setText(drawer, "pct", imports.pctText(job.pct));
    var total = job.rows_total === null || job.rows_total === undefined ? "\u2014" : imports.number(job.rows_total);
    setText(drawer, "rows", imports.number(job.rows_ok || 0) + " of " + total);
    setText(drawer, "rows_bad", imports.number(job.rows_bad || 0));
    setText(drawer, "rate", imports.isRunning(job.status) ? imports.rateText(job.throughput_rps) : "\u2014");
    setText(drawer, "eta", imports.isRunning(job.status) ? imports.etaText(job.eta_seconds) : "\u2014");
    fields(drawer, "error_report").forEach(function (link) {
      if (job.rows_bad > 0) {
        link.href = reportUrl(job);
        link.hidden = false;
      } else {
        link.removeAttribute("href");
        link.hidden = true;
      }
    });
    // A file that failed on its columns can be imported again with columns a person
    // chooses, on a page of its own.
    var columnFailures = (drawer.getAttribute("data-column-failures") || "").split(" ");
    fields(drawer, "columns").forEach(function (columns) {
      var choosable = job.status === "failed" && columnFailures.indexOf(job.failure_code) !== -1;
      var link = columns.querySelector("[data-columns-link]");
      link.href = drawer.getAttribute("data-columns-url").replace("00000000-0000-0000-0000-000000000000", job.task_id);
      columns.hidden = !choosable;
    });
    var retry = drawer.querySelector('[data-import-action="retry"]');
    var cancel = drawer.querySelector('[data-import-action="cancel"]');
    // A failure of the file itself (a missing column, say) would repeat, so the drawer
    // offers no retry. The failure reason shown above it names the fix.
    retry.hidden = !job.retryable;
    drawer.querySelector('[data-import-action="rerun"]').hidden = !(job.dry_run && job.status === "done");
    cancel.hidden = !imports.isRunning(job.status);
  }

  function drawerOpen(taskId, opener) {
    var job = imports.get(taskId);
    if (!job || !drawer) return;
    drawerTaskId = taskId;
    drawerRender(job);
    window.Portal.dialogOpen(drawer, opener);
  }

  function actionRun(button) {
    var action = button.getAttribute("data-import-action");
    var job = imports.get(drawerTaskId);
    if (!job || button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    button.classList.add("is-loading");
    // "rerun" imports a dry run's file for real, as a new import.
    var request = {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    };
    if (action === "rerun") {
      request.headers["Content-Type"] = "application/json";
      request.body = JSON.stringify({ dry_run: false });
    }
    fetch(apiUrl + "/" + encodeURIComponent(job.task_id) + "/" + action, request)
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new Error(body.message || "The server responded with status " + response.status + ".");
          return body;
        });
      })
      .then(function (body) {
        if (action === "rerun") {
          imports.update(body);
          jobShow(imports.get(body.task_id), { add: true });
          window.Portal.toast("Import of " + job.file_name + " queued.", {
            kind: "success",
            link: { href: "#import-" + body.task_id, text: "Show progress" },
          });
          return;
        }
        imports.update(body);
        var message = action === "retry"
          ? "Import of " + job.file_name + " queued again."
          : "Cancelling the import of " + job.file_name + "; it stops after its current chunk.";
        window.Portal.toast(message, { kind: "success" });
      })
      .catch(function (error) {
        window.Portal.toast("Could not " + action + " the import: " + error.message, { kind: "error" });
      })
      .then(function () {
        button.removeAttribute("aria-busy");
        button.classList.remove("is-loading");
      });
  }

  // --- the upload form -------------------------------------------------------------------

  function kindFieldsSync() {
    var kind = form.elements.kind.value;
    form.querySelectorAll("[data-kinds]").forEach(function (field) {
      var kinds = field.getAttribute("data-kinds").split(" ");
      field.hidden = kinds.indexOf(kind) === -1;
    });
  }

  function errorsClear() {
    form.querySelectorAll("[data-error-for]").forEach(function (message) {
      message.querySelector("[data-error-text]").textContent = "";
      message.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) { input.removeAttribute("aria-invalid"); });
  }

  function errorShow(name, text) {
    var message = form.querySelector('[data-error-for="' + name + '"]');
    var input = form.elements[name];
    if (!message || (input && input.closest("[hidden]"))) {
      message = form.querySelector('[data-error-for="__all__"]');
      input = null;
    }
    message.querySelector("[data-error-text]").textContent = text;
    message.hidden = false;
    if (input) input.setAttribute("aria-invalid", "true");
    return input;
  }

  // Each message goes under the field the server names. The first such field gets the
  // error's full message, because the field messages are shorter.
  function errorsShow(body, status) {
    var first = null;
    var named = Object.keys(body.field_errors || {}).filter(function (key) { return FIELD_BY_ERROR_KEY[key]; });
    named.forEach(function (key, index) {
      var text = index === 0 && body.message ? body.message : body.field_errors[key].join(" ");
      var input = errorShow(FIELD_BY_ERROR_KEY[key], text);
      first = first || input;
    });
    if (!named.length) {
      errorShow("__all__", body.message || "The upload failed (HTTP " + status + "). Try again.");
    }
    if (first) first.focus();
  }

  function options() {
    var kind = form.elements.kind.value;
    var chosen = {};
    ["default_store", "price_list", "sheet"].forEach(function (name) {
      var input = form.elements[name];
      if (!input || input.closest("[hidden]")) return;
      var value = input.value.trim();
      if (value) chosen[name] = value;
    });
    if (form.elements.dry_run && form.elements.dry_run.checked) chosen.dry_run = true;
    if (kind !== "pricelist") delete chosen.price_list;
    return chosen;
  }

  // The submit button names what it starts: a dry run or an import.
  function submitText() {
    return form.elements.dry_run && form.elements.dry_run.checked ? "Start dry run" : "Start import";
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function uploadStart(event) {
    event.preventDefault();
    var button = form.querySelector("[type=submit]");
    if (button.getAttribute("aria-busy") === "true") return;
    errorsClear();

    var file = form.elements.file.files[0];
    // The same check as the server's, before sending anything: both fields at once.
    var missing = {};
    if (!form.elements.kind.value) missing.kind = ["Choose what the file contains."];
    if (!file) missing.file = ["Choose a file to import."];
    if (Object.keys(missing).length) {
      errorsShow({ field_errors: missing }, 400);
      return;
    }
    var data = new FormData();
    data.append("kind", form.elements.kind.value);
    if (file) data.append("file", file);
    data.append("options", JSON.stringify(options()));
    // One key per chosen file: sending the same upload again returns the same job.
    uploadKey = uploadKey || newKey();

    button.setAttribute("aria-busy", "true");
    button.classList.add("is-loading");
    button.textContent = "Uploading...";
    fetch(form.getAttribute("data-api-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Idempotency-Key": uploadKey, Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.status === 202) return uploadDone(body, file);
          if (response.status === 413 && !body.field_errors) {
            body = { message: "The file is too large for the server. Split it into smaller files.",
                     field_errors: { file: ["File too large."] } };
          }
          errorsShow(body, response.status);
        });
      })
      .catch(function () {
        errorShow("__all__", "The upload did not reach the server. Check the connection and try again.");
      })
      .then(function () {
        button.removeAttribute("aria-busy");
        button.classList.remove("is-loading");
        button.textContent = submitText();
      });
  }

  function uploadDone(body, file) {
    // An event of the new job can arrive before this response, and it is newer.
    if (!imports.get(body.task_id)) {
      imports.update({
        task_id: body.task_id, kind: form.elements.kind.value, file_name: file ? file.name : "",
        status: body.status, rows_total: null, rows_ok: 0, rows_bad: 0, rows_done: 0, pct: 0,
        throughput_rps: null, eta_seconds: null, failure_code: null, failure_reason: null,
        error_report_url: null, dry_run: Boolean(form.elements.dry_run && form.elements.dry_run.checked),
      });
    }
    jobShow(imports.get(body.task_id), { add: true });
    var queuedText = imports.get(body.task_id).dry_run ? "Dry run of " : "Import of ";
    window.Portal.toast(queuedText + (file ? file.name : "the file") + " queued.", {
      kind: "success",
      link: { href: "#import-" + body.task_id, text: "Show progress" },
    });
    form.elements.file.value = "";
    uploadKey = null;
    // The stored name may differ from the local one (path parts and odd characters removed).
    fetch(body.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) { if (job) imports.update(job); })
      .catch(function () { /* live updates bring the state */ });
  }

  // --- wiring ----------------------------------------------------------------------------

  listSeed();
  imports.subscribe(function (job) { jobShow(job); });

  section.addEventListener("click", function (event) {
    var details = event.target.closest("[data-import-details]");
    if (details) {
      drawerOpen(details.closest("[data-task-id]").getAttribute("data-task-id"), details);
      return;
    }
    var action = event.target.closest("[data-import-action]");
    if (action) actionRun(action);
  });

  if (drawer) {
    drawer.addEventListener("close", function () {
      drawerTaskId = null;
      // The same #import-<task id> link can then open the drawer again.
      if (window.location.hash.indexOf("#import-") === 0) history.replaceState(null, "", "#imports");
    });
  }

  // A link to #import-<task id>, such as the one in the upload toast, opens that drawer.
  function drawerOpenFromHash() {
    var match = /^#import-([0-9a-f-]{36})$/.exec(window.location.hash);
    if (!match) return;
    var row = rowFind(match[1]);
    var opener = row ? row.querySelector("[data-import-details]") : null;
    drawerOpen(match[1], opener);
  }
  window.addEventListener("hashchange", drawerOpenFromHash);
  drawerOpenFromHash();

  if (form) {
    form.addEventListener("submit", uploadStart);
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") kindFieldsSync();
      if (event.target.name === "dry_run") form.querySelector("[type=submit]").textContent = submitText();
      uploadKey = null;
    });
    kindFieldsSync();
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "import-list-region") listSeed();
  });
})();
