/* SPDX-License-Identifier: MIT */
/* app.js: the dashboard's only script (embedded in cellgated). The pages
 * work without it; with it, an element with data-events (the rollout
 * page's div#rollout-live) listens to that URL's server-sent events and
 * replaces its own content with each "live" event's HTML (rendered and
 * escaped by the server), until an "end" event. */
"use strict";
(function () {
  function listen(el) {
    var url = el.getAttribute("data-events");
    if (!url || typeof EventSource === "undefined") {
      return;
    }
    var es = new EventSource(url);
    es.addEventListener("live", function (ev) {
      el.innerHTML = ev.data;
      el.setAttribute("data-updated", String(Date.now()));
    });
    es.addEventListener("end", function () {
      es.close();
    });
  }
  function start() {
    var els = document.querySelectorAll("[data-events]");
    for (var i = 0; i < els.length; i++) {
      listen(els[i]);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
