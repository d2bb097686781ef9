// SPDX-License-Identifier: Apache-2.0
/* Slotwise browser client: one script for every CMS connector.
 * <script src="https://GATEWAY/v1/client.js" data-site="SITE" data-key="PUBLISHABLE_KEY" async></script>
 * <div data-slotwise-slot="home-hero">fallback content</div>
 * Finds all placeholders, asks for them in one request, swaps them in at once (the fallback
 * stays until then, or for good if the gateway is slow or down), keeps the first-party
 * visitor cookie and sends events in batches. Blocks a server already rendered
 * (data-slotwise-state="ready", or Drupal's data-slotwise-rendered) are kept as they are.
 * Every block sends one viewable `impression` per page view (half of it visible for one
 * continuous second) and a `click` for its links. No dependencies. */
(function () {
  "use strict";
  if (window.Slotwise && window.Slotwise.version) return;
  var script = document.currentScript || document.querySelector('script[src*="/v1/client.js"]');
  if (!script) return;
  var base = script.src.replace(/\/v1\/client\.js(\?.*)?$/, "");
  var cfg = {
    site: script.getAttribute("data-site"),
    key: script.getAttribute("data-key"),
    timeout: parseInt(script.getAttribute("data-timeout") || "1500", 10),
    consent: script.getAttribute("data-consent") || null
  };
  var COOKIE = "slotwise_vid", CONSENT_COOKIE = "slotwise_consent", YEAR = 31536000;
  var queue = [], flushTimer = null, started = Date.now(), maxScroll = 0, seen = {}, observer = null;
  var BLOCKS = "[data-slotwise-slot],[data-slotwise-rendered]";

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setCookie(name, value, maxAge) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(value) + "; Max-Age=" + maxAge +
      "; Path=/; SameSite=Lax" + secure;
  }
  function gpc() { return navigator.globalPrivacyControl === true; }
  function consent() {
    var extra = window.slotwiseContext || {};
    return extra.consent || cookie(CONSENT_COOKIE) || cfg.consent || null;
  }
  function identifierAllowed() { return consent() !== "none"; }
  function visitorId() { return identifierAllowed() ? cookie(COOKIE) : null; }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function pageContext() {
    var extra = window.slotwiseContext || {}, ctx = {
      url: location.href, referrer: document.referrer || null, language: navigator.language,
      gpc: gpc()
    };
    try { ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
    var c = consent(); if (c) ctx.consent = c;
    var item = document.querySelector("[data-slotwise-item-id]");
    if (item) ctx.item_id = item.getAttribute("data-slotwise-item-id");
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) ctx[k] = extra[k];
    return ctx;
  }

  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function placeholders() { return all('[data-slotwise-slot]:not([data-slotwise-state="ready"])'); }
  function attr(n, name) { return n.getAttribute("data-slotwise-" + name); }
  // What a block element says was shown: slot, variant, experiment, arm, propensity, segments.
  function shown(n) {
    var p = {slot: attr(n, "slot") || attr(n, "rendered"), variant: attr(n, "variant")};
    if (attr(n, "experiment")) { p.experiment = attr(n, "experiment"); p.arm = attr(n, "arm"); }
    if (attr(n, "propensity")) p.propensity = parseFloat(attr(n, "propensity"));
    if (attr(n, "bucket")) p.bucket = attr(n, "bucket");
    if (attr(n, "segments")) p.segments = attr(n, "segments").split(",");
    return p;
  }
  function observe(n) {
    if (!window.IntersectionObserver || !attr(n, "variant")) return;
    observer = observer || new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var t = e.target, p = shown(t);
        if (e.isIntersecting && e.intersectionRatio >= 0.5) {
          if (!t._swTimer && !seen[p.slot]) t._swTimer = setTimeout(function () {
            seen[p.slot] = 1; observer.unobserve(t);
            track("impression", {properties: shown(t)});
          }, 1000);
        } else { clearTimeout(t._swTimer); t._swTimer = null; }
      });
    }, {threshold: 0.5});
    observer.observe(n);
  }

  function render() {
    var nodes = placeholders();
    if (!nodes.length || !cfg.site || !cfg.key) return Promise.resolve(null);
    var names = [];
    nodes.forEach(function (n) {
      var s = n.getAttribute("data-slotwise-slot");
      if (names.indexOf(s) < 0) names.push(s);
    });
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () {
      if (ctrl) ctrl.abort();
      // Settle even where a hung request cannot be aborted; a late answer still swaps in.
      nodes.forEach(function (n) {
        if (n.getAttribute("data-slotwise-state") !== "ready") n.setAttribute("data-slotwise-state", "fallback");
      });
    }, cfg.timeout);
    return fetch(base + "/v1/render", {
      method: "POST", signal: ctrl ? ctrl.signal : undefined,
      headers: {"Content-Type": "application/json", "X-Slotwise-Key": cfg.key},
      body: JSON.stringify({site: cfg.site, visitor_id: visitorId(), slots: names, context: pageContext()})
    }).then(function (r) {
      if (!r.ok) throw new Error("slotwise render " + r.status);
      return r.json();
    }).then(function (data) {
      clearTimeout(timer);
      if (data.visitor_id && identifierAllowed() && !gpc()) setCookie(COOKIE, data.visitor_id, YEAR);
      var swap = function () {
        nodes.forEach(function (n) {
          var b = data.blocks[n.getAttribute("data-slotwise-slot")];
          if (!b || !b.html) return;
          var x = b.experiment || {}, prop = x.propensity || b.propensity;
          n.innerHTML = b.html;
          n.setAttribute("data-slotwise-variant", b.variant);
          n.setAttribute("data-slotwise-state", "ready");
          if (x.key) { n.setAttribute("data-slotwise-experiment", x.key); n.setAttribute("data-slotwise-arm", x.arm); }
          if (prop) n.setAttribute("data-slotwise-propensity", prop);
          if (x.bucket) n.setAttribute("data-slotwise-bucket", x.bucket);
          if (b.segments && b.segments.length) n.setAttribute("data-slotwise-segments", b.segments.join(","));
          observe(n);
        });
      };
      // One frame for all slots, so the page changes once and never flickers block by block.
      (window.requestAnimationFrame || setTimeout)(swap);
      return data;
    })["catch"](function () {
      clearTimeout(timer);
      nodes.forEach(function (n) { n.setAttribute("data-slotwise-state", "fallback"); });
      return null;
    });
  }

  function track(type, fields) {
    var vid = visitorId();
    if (!vid || gpc()) return;
    var ev = {event_id: uuid(), visitor_id: vid, type: type, ts: new Date().toISOString(),
              context: {url: location.href, referrer: document.referrer || null}};
    fields = fields || {};
    for (var k in fields) if (Object.prototype.hasOwnProperty.call(fields, k)) ev[k] = fields[k];
    queue.push(ev);
    if (queue.length >= 20) flush(); else if (!flushTimer) flushTimer = setTimeout(flush, 2000);
  }
  function flush() {
    clearTimeout(flushTimer); flushTimer = null;
    if (!queue.length) return;
    var body = JSON.stringify({site: cfg.site, key: cfg.key, events: queue.splice(0, 100)});
    // text/plain keeps beacons free of CORS preflights; the gateway reads JSON either way.
    var blob = new Blob([body], {type: "text/plain"});
    if (!(navigator.sendBeacon && navigator.sendBeacon(base + "/v1/events", blob))) {
      fetch(base + "/v1/events", {method: "POST", body: body, keepalive: true,
        headers: {"Content-Type": "text/plain"}})["catch"](function () {});
    }
  }
  function setConsent(level) {
    // The gateway forgets (none) or stops profiling (anonymous) at once, not only this browser.
    var vid = cookie(COOKIE), done = Promise.resolve(null);
    if (vid && cfg.site && cfg.key) {
      done = fetch(base + "/v1/visitors/" + encodeURIComponent(vid) + "/consent?site=" + encodeURIComponent(cfg.site), {
        method: "PUT", headers: {"Content-Type": "application/json", "X-Slotwise-Key": cfg.key},
        body: JSON.stringify({level: level})
      }).then(function (r) { return r.ok; })["catch"](function () { return false; });
    }
    setCookie(CONSENT_COOKIE, level, YEAR);
    if (level === "none") setCookie(COOKIE, "", 0);
    return done;
  }

  // The personalization level widget: <div data-slotwise-widget="personalization"></div>.
  // full = profile, basic = this page only (consent "anonymous"), off = no identifier ("none").
  var LEVELS = [["full", "full", "Full", "recommendations from what you browse here"],
                ["basic", "anonymous", "Basic", "only this page and the time of day, nothing remembered"],
                ["off", "none", "Off", "no personalization, no identifier"]];
  function level() {
    var c = consent();
    for (var i = 0; i < LEVELS.length; i++) if (LEVELS[i][1] === c) return LEVELS[i][0];
    return null;
  }
  function widget(n) {
    var name = "sw-level-" + Math.random().toString(36).slice(2), current = level();
    var box = document.createElement("fieldset");
    box.setAttribute("data-slotwise-level", current || "");
    var legend = document.createElement("legend");
    legend.textContent = n.getAttribute("data-title") || "Personalization";
    box.appendChild(legend);
    LEVELS.forEach(function (l) {
      var label = document.createElement("label"), input = document.createElement("input"), text = document.createElement("span");
      input.type = "radio"; input.name = name; input.value = l[0]; input.checked = current === l[0];
      label.style.display = "block";
      text.textContent = " " + (n.getAttribute("data-label-" + l[0]) || l[2]) + " \u2014 " +
        (n.getAttribute("data-help-" + l[0]) || l[3]);
      input.addEventListener("change", function () {
        box.setAttribute("data-slotwise-level", l[0]);
        box.setAttribute("data-slotwise-state", "saving");
        setConsent(l[1]).then(function (ok) {
          box.setAttribute("data-slotwise-state", ok === false ? "error" : "saved");
          all("[data-slotwise-slot]").forEach(function (s) { s.setAttribute("data-slotwise-state", "pending"); });
          render();
        });
      });
      label.appendChild(input); label.appendChild(text); box.appendChild(label);
    });
    if (gpc()) {
      var note = document.createElement("p");
      note.textContent = n.getAttribute("data-gpc") || "Your browser sends Global Privacy Control: nothing is profiled, whatever you choose.";
      box.appendChild(note);
    }
    n.innerHTML = ""; n.appendChild(box);
  }

  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest ? e.target.closest("a") : null;
    var block = a && a.closest(BLOCKS);
    if (!block || !attr(block, "variant")) return;
    track("click", {item_id: a.getAttribute("data-slotwise-item") || undefined, properties: shown(block)});
    flush();
  });
  window.addEventListener("scroll", function () {
    var h = document.documentElement.scrollHeight - window.innerHeight;
    if (h > 0) maxScroll = Math.max(maxScroll, Math.min(1, window.scrollY / h));
  }, {passive: true});
  function leave() {
    var variants = {};
    all(BLOCKS).forEach(function (n) { var p = shown(n); if (p.variant) variants[p.slot] = p.variant; });
    track("engagement", {properties: {time_on_page: Math.round((Date.now() - started) / 1000),
      scroll_depth: Math.round(maxScroll * 100) / 100, variants: variants}});
    flush();
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave();
  });

  window.Slotwise = {version: "1", render: render, refresh: render, track: track, flush: flush,
                     setConsent: setConsent, visitorId: visitorId, level: level};
  var go = function () {
    all('[data-slotwise-widget="personalization"]').forEach(widget);
    all(BLOCKS).forEach(function (n) { if (attr(n, "state") === "ready") observe(n); });
    render().then(function () {
      var item = pageContext().item_id;
      track(item ? "item_view" : "page_view", item ? {item_id: item} : {});
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go); else go();
})();
