// Live state of the imports the user may see, and the sticky import status bar on every page.
//
// window.PortalImports keeps one websocket per page (/ws/imports/). While the socket is
// down it follows each running job over Server-Sent Events, and when those fail too it
// polls GET /api/imports. Home's imports section subscribes to the same state.
(function () {
  "use strict";

  var RUNNING = ["queued", "parsing", "validating", "loading", "finalizing"];
  var PHASE_TEXT = {
    queued: "Queued...", parsing: "Parsing...", validating: "Validating...",
    loading: "Loading...", finalizing: "Finalizing...",
    done: "Done", failed: "Failed", cancelled: "Cancelled",
  };
  var STATUS_TEXT = {
    queued: "Queued", parsing: "Parsing", validating: "Validating", loading: "Loading",
    finalizing: "Finalizing", done: "Done", failed: "Failed", cancelled: "Cancelled",
  };
  // Names of the symbols in static/icons.svg.
  var STATUS_ICON = {
    queued: "info", parsing: "spinner", validating: "spinner", loading: "spinner",
    finalizing: "spinner", done: "ok", failed: "fail", cancelled: "close",
  };
  var STATUS_TONE = { done: "ok", failed: "fail", cancelled: "warn" };
  var KIND_TEXT = {
    products: "Products", pricelist: "Price list", stock: "Stock count", sales: "Sales history",
  };
  var NO_VALUE = "\u2014";
  var SVG_NAMESPACE = "http://www.w3.org/2000/svg";
  var HOME_IMPORTS_URL = "/home/#imports";

  var TICK_MILLISECONDS = 1000;
  // A running job that sent nothing for this long is read again. The worker reports several
  // times a second, but without Redis the websocket carries none of its events.
  var STALE_MILLISECONDS = 2500;
  // The socket must stay down this long before the page falls back to SSE or polling,
  // because the server closes an idle socket every few seconds and it reconnects at once.
  var FALLBACK_AFTER_MILLISECONDS = 3000;
  var POLL_RUNNING_MILLISECONDS = 2000;
  var POLL_IDLE_MILLISECONDS = 10000;
  var BACKOFF_MIN_MILLISECONDS = 1000;
  var BACKOFF_MAX_MILLISECONDS = 30000;
  // EventSource errors without any event before them, after which the page polls instead.
  var SSE_FAILURES_MAX = 1;
  var CLOSE_NOT_AUTHENTICATED = 4401;

  var jobs = {};
  var seenAt = {};
  var listeners = [];
  var listUrl = "/api/imports";

  var socket = null;
  // True once the open socket delivered its first message: the server sends a snapshot
  // right after it accepts, so a socket that stays silent is treated as down.
  var socketLive = false;
  var messageAt = 0;
  var downSince = Date.now();
  var backoff = BACKOFF_MIN_MILLISECONDS;
  var reconnectTimer = null;
  var stopped = false;
  var resyncAt = 0;

  var sources = {};
  var sseFailures = 0;
  var pollAt = 0;
  var polling = false;

  function isRunning(status) {
    return RUNNING.indexOf(status) !== -1;
  }

  function number(value) {
    return Math.round(value).toLocaleString("en-US");
  }

  function pctText(pct) {
    return Math.floor(pct || 0) + "%";
  }

  function etaText(seconds) {
    if (seconds === null || seconds === undefined) return NO_VALUE;
    var total = Math.max(0, Math.round(seconds));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var secs = String(total % 60).padStart(2, "0");
    if (hours) return hours + ":" + String(minutes).padStart(2, "0") + ":" + secs;
    return minutes + ":" + secs;
  }

  function rateText(rowsPerSecond) {
    if (rowsPerSecond === null || rowsPerSecond === undefined) return NO_VALUE;
    return number(rowsPerSecond);
  }

  // The same line as the import_line template filter renders on the server.
  function lineText(job) {
    if (job.status === "done") {
      var line = job.dry_run ? "Dry run: " + number(job.rows_ok) + " rows OK" : number(job.rows_ok) + " rows imported";
      if (job.rows_bad) line += " \u00b7 " + number(job.rows_bad) + " rejected";
      return line + (job.dry_run ? ", nothing changed" : "");
    }
    if (job.status === "failed") return "Failed: " + (job.failure_reason || "no reason was recorded.");
    if (job.status === "cancelled") return "Cancelled at " + pctText(job.pct);
    var running = PHASE_TEXT[job.status] + " " + pctText(job.pct);
    if (job.throughput_rps !== null && job.throughput_rps !== undefined) {
      running += " \u00b7 " + rateText(job.throughput_rps) + " rows/s";
    }
    return running + " \u00b7 ETA " + etaText(job.eta_seconds);
  }

  // The sprite's URL comes from an icon the server rendered, since static files may be
  // served under hashed names.
  function spriteUrl() {
    var use = document.querySelector("svg.icon use");
    var href = use ? use.getAttribute("href") : "";
    return href ? href.split("#")[0] : "/static/icons.svg";
  }

  // Shows the named icon of static/icons.svg in the container, creating the <svg> if needed.
  function iconSet(container, name) {
    var use = container.querySelector("use");
    if (!use) {
      var svg = document.createElementNS(SVG_NAMESPACE, "svg");
      svg.setAttribute("class", "icon");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      use = document.createElementNS(SVG_NAMESPACE, "use");
      svg.appendChild(use);
      container.appendChild(svg);
    }
    use.setAttribute("href", spriteUrl() + "#" + name);
  }

  function announceChange(job) {
    if (!window.Portal) return;
    var name = job.file_name;
    if (job.status === "done" && job.dry_run) {
      window.Portal.announce("Dry run of " + name + " finished: " + number(job.rows_ok) + " rows OK" +
        (job.rows_bad ? ", " + number(job.rows_bad) + " rejected" : "") + "; nothing changed.");
    } else if (job.status === "done") {
      var text = "Import of " + name + " finished: " + number(job.rows_ok) + " rows imported";
      window.Portal.announce(text + (job.rows_bad ? ", " + number(job.rows_bad) + " rejected." : "."));
    } else if (job.status === "failed") {
      window.Portal.announce("Import of " + name + " failed: " + (job.failure_reason || "no reason was recorded."));
    } else if (job.status === "cancelled") {
      window.Portal.announce("Import of " + name + " was cancelled.");
    } else {
      window.Portal.announce("Import of " + name + ": " + STATUS_TEXT[job.status].toLowerCase() + ".");
    }
  }

  function timeOf(job) {
    var parsed = job && job.updated_at ? Date.parse(job.updated_at) : NaN;
    return isNaN(parsed) ? null : parsed;
  }

  // Merges one payload into the state and drops a state older than the one held. pct never
  // goes down while a job runs, except after queued, because a retried job starts over.
  function update(payload, options) {
    if (!payload || !payload.task_id) return;
    var id = payload.task_id;
    var previous = jobs[id];
    var previousTime = timeOf(previous);
    var nextTime = timeOf(payload);
    if (previousTime !== null && nextTime !== null && nextTime < previousTime) return;

    var next = Object.assign({}, previous || {}, payload);
    if (previous && previous.status !== "queued" && isRunning(previous.status) &&
        isRunning(next.status) && next.pct < previous.pct) {
      next.pct = previous.pct;
    }
    jobs[id] = next;
    seenAt[id] = Date.now();

    var quiet = options && options.quiet;
    if (!quiet && previous && previous.status !== next.status) announceChange(next);
    listeners.forEach(function (listener) { listener(next, previous || null); });
    barRender();
  }

  function snapshot(list, options) {
    (list || []).forEach(function (payload) { update(payload, options); });
  }

  function runningIds() {
    return Object.keys(jobs).filter(function (id) { return isRunning(jobs[id].status); });
  }

  // --- websocket -------------------------------------------------------------------------

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/imports/";
  }

  function socketConnect() {
    reconnectTimer = null;
    if (stopped || !("WebSocket" in window)) return;
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      socketReconnectLater();
      return;
    }
    socket = ws;
    ws.addEventListener("message", function (event) {
      if (socket !== ws) return;
      messageAt = Date.now();
      if (!socketLive) {
        socketLive = true;
        downSince = null;
        backoff = BACKOFF_MIN_MILLISECONDS;
        fallbackStop();
      }
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "import.snapshot") snapshot(message.jobs);
      else if (message.type === "import.event") update(message.event);
    });
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      socketLive = false;
      if (downSince === null) downSince = Date.now();
      if (event.code === CLOSE_NOT_AUTHENTICATED) {
        // The session ended, so the next page load redirects to the login page.
        stopped = true;
        fallbackStop();
        return;
      }
      socketReconnectLater();
    });
  }

  function socketReconnectLater() {
    if (stopped || reconnectTimer) return;
    // Jitter spreads the reconnects of many pages after a server restart.
    var delay = backoff * (0.75 + Math.random() * 0.5);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MILLISECONDS);
    reconnectTimer = window.setTimeout(socketConnect, delay);
  }

  function resync() {
    resyncAt = Date.now();
    if (socketLive && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resync" }));
    } else {
      poll();
    }
  }

  // --- fallbacks: SSE per running job, then polling ----------------------------------------

  function sseOpen(id) {
    var source = new EventSource(listUrl + "/" + encodeURIComponent(id) + "/events");
    var receivedSinceError = false;
    function received(event) {
      receivedSinceError = true;
      sseFailures = 0;
      var payload;
      try { payload = JSON.parse(event.data); } catch (error) { return; }
      update(payload);
      if (event.type === "import.finished") sseClose(id);
    }
    source.addEventListener("import.progress", received);
    source.addEventListener("import.finished", received);
    source.addEventListener("error", function () {
      // A stream that ends after sending events reconnects by itself and counts as working.
      if (!receivedSinceError) sseFailures += 1;
      receivedSinceError = false;
      // CLOSED means EventSource gave up (an error status), so it will not reconnect.
      if (source.readyState === EventSource.CLOSED) sseClose(id);
    });
    sources[id] = source;
  }

  function sseClose(id) {
    if (!sources[id]) return;
    sources[id].close();
    delete sources[id];
  }

  function sseCloseAll() {
    Object.keys(sources).forEach(sseClose);
  }

  function sseSync(running) {
    Object.keys(sources).forEach(function (id) {
      if (running.indexOf(id) === -1) sseClose(id);
    });
    running.forEach(function (id) {
      if (!sources[id]) sseOpen(id);
    });
  }

  function poll() {
    if (polling || stopped) return;
    polling = true;
    pollAt = Date.now();
    fetch(listUrl + "?limit=20", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          stopped = true;
          return [];
        }
        return response.ok ? response.json() : [];
      })
      .then(function (list) { snapshot(list); })
      .catch(function () { /* the next tick polls again */ })
      .then(function () { polling = false; });
  }

  function fallbackStop() {
    sseCloseAll();
    sseFailures = 0;
  }

  function tick() {
    if (stopped) return;
    var now = Date.now();
    var running = runningIds();
    var stale = running.some(function (id) { return now - seenAt[id] > STALE_MILLISECONDS; });

    if (socketLive) {
      if (stale && resyncAt > messageAt && now - resyncAt > STALE_MILLISECONDS) {
        // The socket sent nothing after a resync, so it is open but broken. Reconnect.
        socket.close();
        return;
      }
      if (stale && now - resyncAt > STALE_MILLISECONDS) resync();
      return;
    }
    if (downSince === null || now - downSince < FALLBACK_AFTER_MILLISECONDS) return;

    var sseUsable = "EventSource" in window && sseFailures < SSE_FAILURES_MAX;
    if (sseUsable) {
      sseSync(running);
      // EventSource follows known jobs only, so a slow poll finds jobs started elsewhere. A
      // stale job is polled at once, in case a proxy buffers the stream.
      var interval = stale ? POLL_RUNNING_MILLISECONDS : POLL_IDLE_MILLISECONDS;
      if (now - pollAt >= interval) poll();
      return;
    }
    sseCloseAll();
    if (now - pollAt >= (running.length ? POLL_RUNNING_MILLISECONDS : POLL_IDLE_MILLISECONDS)) poll();
  }

  // --- the sticky status bar -------------------------------------------------------------

  var bar = null;
  var barParts = null;

  function barBuild() {
    bar.setAttribute("role", "region");
    bar.setAttribute("aria-label", "Running imports");
    var icon = document.createElement("span");
    icon.className = "import-status-icon";
    iconSet(icon, STATUS_ICON.parsing);
    var text = document.createElement("span");
    text.className = "import-status-text";
    var progress = document.createElement("progress");
    progress.className = "import-status-progress";
    progress.max = 100;
    var link = document.createElement("a");
    link.className = "import-status-link";
    link.href = HOME_IMPORTS_URL;
    link.textContent = "Show imports";
    bar.append(icon, text, progress, link);
    barParts = { text: text, progress: progress };
  }

  function barRender() {
    if (!bar) return;
    var running = runningIds().map(function (id) { return jobs[id]; });
    if (!running.length) {
      bar.hidden = true;
      return;
    }
    if (!barParts) barBuild();
    // The job that moved last is the one the user most likely watches.
    running.sort(function (a, b) { return (timeOf(b) || 0) - (timeOf(a) || 0); });
    var job = running[0];
    var text = "Importing " + job.file_name + " \u2014 " + lineText(job);
    if (running.length > 1) text += " (and " + (running.length - 1) + " more)";
    barParts.text.textContent = text;
    barParts.progress.value = job.pct || 0;
    barParts.progress.setAttribute("aria-label", "Progress of " + job.file_name);
    bar.hidden = false;
  }

  // --- public interface ------------------------------------------------------------------

  window.PortalImports = {
    // listener(job, previous) runs for every change, and at once for each job known now.
    subscribe: function (listener) {
      listeners.push(listener);
      Object.keys(jobs).forEach(function (id) { listener(jobs[id], null); });
    },
    get: function (taskId) { return jobs[taskId] || null; },
    update: function (payload) { update(payload); },
    // Seeds the state from server-rendered payloads without announcing anything.
    seed: function (list) { snapshot(list, { quiet: true }); },
    resync: resync,
    isRunning: isRunning,
    lineText: lineText,
    pctText: pctText,
    etaText: etaText,
    rateText: rateText,
    number: number,
    phaseText: function (status) { return PHASE_TEXT[status] || status; },
    statusText: function (status) { return STATUS_TEXT[status] || status; },
    statusIcon: function (status) { return STATUS_ICON[status] || "info"; },
    statusTone: function (status) { return STATUS_TONE[status] || "info"; },
    iconSet: iconSet,
    kindText: function (kind) { return KIND_TEXT[kind] || kind; },
    listUrl: function () { return listUrl; },
  };

  function start() {
    bar = document.getElementById("import-status-bar");
    if (bar && bar.getAttribute("data-status-url")) listUrl = bar.getAttribute("data-status-url");
    barRender();
    socketConnect();
    window.setInterval(tick, TICK_MILLISECONDS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
