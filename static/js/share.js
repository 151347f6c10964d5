/* Share buttons (templates/campaigns/_share_buttons.html). Each button is a plain link to the portal's
 * share action, which records the share and redirects to the network: that is what happens without this
 * file, on a modified click (open in a new tab) and in e-mails. With it, a click:
 * 1. builds the network's dialog address from the button's data-share-intent template ({text} and {url})
 *    and the post as the ambassador edited it (the same two rules as campaigns/share.py text_for_dialog);
 * 2. opens it in a new window inside the click (so pop-up blockers see a user gesture); when the browser
 *    blocks the window (window.open returns null) it says so and records nothing; e-mail navigates to the
 *    mailto: address instead (never blocked);
 * 3. records the share once the dialog is open: POST to data-share-record with a fresh dialog id, sent
 *    again with the same id if the network fails (the server keeps one share per dialog id).
 * A second click on the same button within a second (a double click) is ignored: one dialog, one share.
 * Standard APIs only (window.open, fetch with keepalive, crypto.getRandomValues); no inline script. */
(function () {
  "use strict";
  var DOUBLE_CLICK_MS = 1000;
  var RETRY_DELAYS_MS = [1000, 4000];
  var lastClick = new WeakMap();

  function newDialogId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));  // randomUUID needs a secure context
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The post as the dialog receives it (campaigns/share.py text_for_dialog): X takes the text without the
  // link (it adds the URL itself); e-mail and WhatsApp take the whole post, the link appended if removed.
  function textForDialog(text, url, mode) {
    if (mode === "separate") {
      text = (url ? text.split(url).join(" ") : text).replace(/[ \t]+/g, " ");
      return text.replace(/ ?\n ?/g, "\n").trim();
    }
    if (mode === "with_link") {
      text = text.trim();
      if (text.indexOf(url) !== -1) { return text; }
      return text ? text + " " + url : url;
    }
    return "";
  }

  function postOf(button) {
    var id = button.getAttribute("data-share-post-id");
    var field = id ? document.getElementById(id) : null;
    if (!field) { return {text: "", edited: false}; }
    return {text: field.value, edited: field.value !== field.defaultValue};
  }

  function intentOf(button, post) {
    var url = button.getAttribute("data-share-url");
    var text = textForDialog(post.text, url, button.getAttribute("data-share-text-mode"));
    return button.getAttribute("data-share-intent")
      .split("{text}").join(encodeURIComponent(text))
      .split("{url}").join(encodeURIComponent(url));
  }

  function show(kit, selector, text) {
    var box = kit && kit.querySelector(selector);
    if (!box) { return; }
    if (text) { box.textContent = text; }
    box.hidden = false;
  }

  function hideAll(kit) {
    if (!kit) { return; }
    kit.querySelectorAll("[data-share-blocked], [data-share-problem]").forEach(function (box) { box.hidden = true; });
  }

  function record(button, kit, post) {
    var body = JSON.stringify({
      dialog_id: newDialogId(), message: button.getAttribute("data-share-message") || "", edited: post.edited,
    });
    var attempt = 0;
    var send = function () {
      fetch(button.getAttribute("data-share-record"), {
        method: "POST", body: body, keepalive: true, credentials: "same-origin", redirect: "manual",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": kit ? kit.getAttribute("data-share-csrf") : ""},
      }).then(function (response) {
        if (response.type === "opaqueredirect") {
          show(kit, "[data-share-problem]", "You are logged out, so this share was not counted: log in again.");
          return null;
        }
        if (response.ok) { return null; }
        return response.json().then(function (data) {
          show(kit, "[data-share-problem]", (data && data.detail) || "This share could not be recorded.");
        }, function () {
          show(kit, "[data-share-problem]", "This share could not be recorded (" + response.status + "): reload the page.");
        });
      }, function () {
        // The network failed: send the same dialog again (the server counts it once).
        if (attempt < RETRY_DELAYS_MS.length) { setTimeout(send, RETRY_DELAYS_MS[attempt++]); return; }
        show(kit, "[data-share-problem]", "This share could not be recorded: check your connection.");
      });
    };
    send();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("a[data-share]");
    if (!button || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;  // not ours, or "open in a new tab": the plain link (the server's share action) does it
    }
    event.preventDefault();
    var now = Date.now();
    if (now - (lastClick.get(button) || 0) < DOUBLE_CLICK_MS) { return; }
    lastClick.set(button, now);
    var kit = button.closest("[data-share-kit]");
    hideAll(kit);
    var post = postOf(button);
    var intent = intentOf(button, post);
    if (intent.indexOf("mailto:") === 0) {
      window.location.href = intent;  // opens the mail program; the page stays
      record(button, kit, post);
      return;
    }
    var dialog = window.open(intent, "_blank");
    if (!dialog) {
      show(kit, "[data-share-blocked]");
      return;
    }
    try { dialog.opener = null; } catch (e) { /* already cut off */ }
    record(button, kit, post);
  });
})();
