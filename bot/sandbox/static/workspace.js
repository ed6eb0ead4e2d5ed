/* The sandbox Slack page: the workspace around the Block Kit renderer.
 *
 * It polls the sandbox server's state (GET /sandbox/state, twice a second; faster for a few
 * seconds after the person does something) and draws what changed: the sidebar, the open
 * conversation (a channel, or the app's Home and Messages tabs) and the modal stack. What the
 * person does is reported to the sandbox server (POST /sandbox/…), which builds and signs the
 * Slack request and sends it to the app. Nothing here knows Slack's payload formats.
 */
"use strict";

(() => {
  const { h, render } = window.SandboxBlocks;
  const T = window.SandboxText;

  const COMMANDS = [{
    command: "/portal",
    hint: "[account | password | card | credits | buy N | services | invoices | pay | users | " +
      "vat | finance #channel | help]",
    description: "Open the Admin Portal — account, credits, invoices, payments, users",
  }];
  const SLOW_POLL = 500;
  const FAST_POLL = 100;
  const BURST = 2500;

  const page = {
    user: null,
    state: null,
    version: null,
    place: null, // a channel id, "app:home" or "app:messages"
    entered: {}, // surface key -> {block_id: {action_id: value}}
    seen: {}, // place -> how many messages the person has seen there
    drawn: {}, // region -> what was drawn last (to redraw only what changed)
    fastUntil: 0,
    submitting: null,
    modalError: null,
    pollTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // -- Talking to the sandbox server -------------------------------------------------------

  async function post(path, body) {
    let answer;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: page.user, ...body }),
      });
      answer = await response.json().catch(() => ({ ok: response.ok }));
      if (!response.ok && answer.ok === undefined) answer.ok = false;
    } catch (error) {
      answer = { ok: false, error: "The sandbox is not answering. Is it still running?" };
    }
    hurry();
    return answer;
  }

  async function poll() {
    clearTimeout(page.pollTimer);
    try {
      const since = page.version ? `&since=${encodeURIComponent(page.version)}` : "";
      const response = await fetch(
        `/sandbox/state?user=${encodeURIComponent(page.user)}${since}`, { cache: "no-store" });
      if (response.ok) {
        const body = await response.json();
        if (!body.unchanged) {
          page.state = body;
          page.version = body.version;
          draw();
        }
        setOffline(false);
      } else {
        setOffline(true);
      }
    } catch (error) {
      setOffline(true);
    }
    const delay = Date.now() < page.fastUntil ? FAST_POLL : SLOW_POLL;
    page.pollTimer = setTimeout(poll, delay);
  }

  function hurry() {
    page.fastUntil = Date.now() + BURST;
    clearTimeout(page.pollTimer);
    page.pollTimer = setTimeout(poll, FAST_POLL);
  }

  function setOffline(offline) {
    $("offline").hidden = !offline;
  }

  function toast(message, kind = "error") {
    const note = h("div", { class: `toast toast-${kind}`, role: "alert" }, message);
    $("toasts").append(note);
    setTimeout(() => note.remove(), 7000);
  }

  async function report(path, body) {
    const answer = await post(path, body);
    if (!answer.ok) toast(answer.error || "That did not work.");
    return answer;
  }

  // -- Names ---------------------------------------------------------------------------------

  function person(id) {
    return (page.state.people || []).find((p) => p.id === id);
  }

  function userName(id) {
    if (id === page.state.app.bot_user_id) return page.state.app.name;
    const found = person(id);
    return found ? found.name : null;
  }

  function channelName(id) {
    const found = (page.state.channels || []).find((c) => c.id === id);
    return found ? found.name : null;
  }

  function initials(name) {
    return name.split(/\s+/).map((part) => part[0]).join("").slice(0, 2).toUpperCase();
  }

  // -- Block Kit contexts --------------------------------------------------------------------

  function blockContext(where, key, view) {
    page.entered[key] = page.entered[key] || {};
    return {
      where,
      key,
      entered: page.entered[key],
      initial: view ? view.state : {},
      errors: view ? view.errors : {},
      people: page.state.people,
      channels: page.state.channels,
      userName,
      channelName,
      act: (blockId, actionId, value) => report("/sandbox/action", {
        ...where, block_id: blockId, action_id: actionId, entered: value,
        state: page.entered[key],
      }),
      suggest: async (blockId, actionId, query) => {
        const answer = await post("/sandbox/suggest", {
          ...where, block_id: blockId, action_id: actionId, query,
        });
        if (answer.ok === false) toast(answer.error || "No options came back.");
        return answer;
      },
      confirm: confirmDialog,
    };
  }

  // -- Drawing -------------------------------------------------------------------------------

  function changed(region, value) {
    const signature = JSON.stringify(value);
    if (page.drawn[region] === signature) return false;
    page.drawn[region] = signature;
    return true;
  }

  function draw() {
    const s = page.state;
    if (!page.place) page.place = s.channels[0].id;
    countSeen();
    drawSidebar();
    drawConversation();
    drawModals();
  }

  function placeMessages(place) {
    const s = page.state;
    if (place === "app:messages") return s.messages[s.app_dm] || [];
    return s.messages[place] || [];
  }

  function countSeen() {
    const s = page.state;
    const places = [...s.channels.map((c) => c.id), "app:messages"];
    for (const place of places) {
      const count = placeMessages(place).length;
      if (page.seen[place] === undefined || place === page.place) page.seen[place] = count;
    }
  }

  function unread(place) {
    return Math.max(0, placeMessages(place).length - (page.seen[place] || 0));
  }

  function drawSidebar() {
    const s = page.state;
    const picks = s.people.filter((p) => p.switchable);
    const look = { me: s.me, people: picks, ws: s.workspace, notes: s.notes, place: page.place,
      unread: [...s.channels.map((c) => unread(c.id)), unread("app:messages")] };
    if (!changed("sidebar", look)) return;
    $("team-name").textContent = s.workspace.name;
    const select = $("person");
    select.replaceChildren(...picks.map((p) =>
      h("option", { value: p.id, selected: p.id === s.me }, p.name)));
    $("person-title").textContent = person(s.me).title;
    const link = (place, label, count) => h("li", {}, h("button", {
      type: "button",
      class: `nav-item${page.place === place || (place === "app:home" &&
        page.place.startsWith("app:")) ? " active" : ""}${count ? " unread" : ""}`,
      "data-place": place,
      onclick: () => go(place),
    }, label, count ? h("span", { class: "badge", "aria-label": `${count} new` }, count) : null));
    $("channel-list").replaceChildren(...s.channels.map((c) =>
      link(c.id, `# ${c.name}`, unread(c.id))));
    $("app-list").replaceChildren(link("app:home", s.app.name, unread("app:messages")));
    $("notes").replaceChildren(...(s.notes || []).map((n) => h("li", {}, n)));
    $("me").replaceChildren(h("span", { class: "avatar small" }, initials(person(s.me).name)),
      h("span", {}, person(s.me).name));
  }

  function go(place) {
    page.place = place;
    if (place === "app:home") sendHomeOpened();
    page.drawn = {};
    draw();
    if (!place.startsWith("app:")) $("message-box").focus();
  }

  function sendHomeOpened() {
    report("/sandbox/home", {});
  }

  function drawConversation() {
    const s = page.state;
    const onApp = page.place.startsWith("app:");
    const title = onApp ? s.app.name : `# ${channelName(page.place)}`;
    $("conversation-title").textContent = title;
    $("app-tabs").hidden = !onApp;
    for (const tab of document.querySelectorAll("#app-tabs [data-tab]")) {
      tab.classList.toggle("active", `app:${tab.dataset.tab}` === page.place);
      tab.setAttribute("aria-selected", String(`app:${tab.dataset.tab}` === page.place));
    }
    const home = page.place === "app:home";
    $("home").hidden = !home;
    $("messages").hidden = home;
    $("composer").hidden = onApp;
    $("read-only").hidden = page.place !== "app:messages";
    if (home) drawHome();
    else drawMessages();
  }

  function drawHome() {
    const view = page.state.home;
    if (!changed("home", [page.user, view])) return;
    const box = $("home");
    if (!view) {
      box.replaceChildren(h("p", { class: "muted" }, "Opening the Home tab…"));
      return;
    }
    const key = `H:${view.id}`;
    const focus = rememberFocus();
    box.replaceChildren(h("div", { class: "home-view" },
      render(view.blocks, blockContext({ surface: "home" }, key, view))));
    restoreFocus(focus);
  }

  function drawMessages() {
    const list = $("messages");
    const messages = placeMessages(page.place);
    if (!changed("messages", [page.user, page.place, messages])) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const focus = rememberFocus();
    const channel = page.place === "app:messages" ? page.state.app_dm : page.place;
    if (!messages.length) {
      list.replaceChildren(h("div", { class: "empty" },
        page.place === "app:messages"
          ? "Messages from the app to you appear here."
          : h("span", {}, "This is the very beginning of ", h("b", {}, `#${channelName(channel)}`),
            ". Type ", h("code", {}, "/portal"), " below to open the Admin Portal.")));
    } else {
      list.replaceChildren(...messages.map((m) => drawMessage(m, channel)));
    }
    restoreFocus(focus);
    if (atBottom || !focus) list.scrollTop = list.scrollHeight;
  }

  function drawMessage(message, channel) {
    const s = page.state;
    const byApp = !message.author;
    const slackbot = message.author === "USLACKBOT";
    const name = byApp ? s.app.name : slackbot ? "Slackbot" : (userName(message.author) ||
      message.author);
    const key = `M:${channel}:${message.ts}`;
    const where = { surface: "message", channel, ts: message.ts };
    const body = message.blocks && message.blocks.length
      ? render(message.blocks, blockContext(where, key, null))
      : h("div", { class: "message-text", html: T.mrkdwn(message.text, { userName, channelName }) });
    return h("article", {
      class: `message${message.ephemeral ? " ephemeral" : ""}`,
      "data-ts": message.ts,
      "data-ephemeral": message.ephemeral ? "true" : undefined,
    },
    h("div", { class: `avatar${byApp ? " app" : ""}` }, byApp ? "AP" : slackbot ? "SB" :
      initials(name)),
    h("div", { class: "message-main" },
      h("div", { class: "message-meta" },
        h("span", { class: "author" }, name),
        byApp ? h("span", { class: "app-badge" }, "APP") : null,
        h("time", {}, message.at)),
      message.ephemeral ? h("div", { class: "ephemeral-note" }, "Only visible to you") : null,
      h("div", { class: "message-body" }, body),
      (message.attachments || []).map((a) => drawAttachment(a, where, key)),
      message.files && message.files.length
        ? h("div", { class: "files" }, message.files.map(drawFile)) : null));
  }

  function drawAttachment(attachment, where, key) {
    const ctx = blockContext(where, key, null);
    return h("div", { class: "attachment", style: attachment.color
      ? `border-left-color: ${/^#?[0-9a-f]{3,6}$/i.test(attachment.color)
        ? (attachment.color.startsWith("#") ? "" : "#") + attachment.color : "#ddd"}` : undefined },
    attachment.title ? h("div", { class: "attachment-title" }, attachment.title) : null,
    attachment.text ? h("div", { html: T.mrkdwn(attachment.text, ctx) }) : null,
    attachment.blocks ? render(attachment.blocks, ctx) : null);
  }

  function drawFile(file) {
    return h("a", {
      class: "file",
      href: file.url,
      target: "_blank",
      rel: "noopener",
      "data-file-id": file.id,
    }, h("span", { class: "file-icon" }, file.pretty_type === "PDF" ? "PDF" : "FILE"),
    h("span", { class: "file-name" }, file.title || file.name),
    h("span", { class: "file-type" }, file.pretty_type || ""));
  }

  // -- Modals --------------------------------------------------------------------------------

  function drawModals() {
    const layer = $("modal-layer");
    const stack = page.state.modals || [];
    // What was entered in views that are no longer open is forgotten, as Slack does.
    const open = new Set(stack.map((v) => `V:${v.id}`));
    for (const key of Object.keys(page.entered)) {
      if (key.startsWith("V:") && !open.has(key)) delete page.entered[key];
    }
    const top = stack[stack.length - 1];
    if (!changed("modal", [page.user, stack.length, top, page.submitting, page.modalError])) {
      return;
    }
    if (!top) {
      layer.hidden = true;
      layer.replaceChildren();
      page.modalError = null;
      return;
    }
    const focus = rememberFocus();
    const isNew = layer.dataset.viewId !== top.id;
    const key = `V:${top.id}`;
    const where = { surface: "modal", view_id: top.id };
    const busy = page.submitting === top.id;
    const closeText = top.close ? T.plainOf(top.close) : "Cancel";
    const dialog = h("div", {
      class: "modal",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "modal-title",
      "data-view-id": top.id,
      "data-callback-id": top.callback_id,
    },
    h("header", { class: "modal-header" },
      stack.length > 1 ? h("button", { type: "button", class: "icon-button", "aria-label": "Back",
        onclick: () => closeModal(top, false) }, "‹") : null,
      h("h2", { id: "modal-title" }, T.plainOf(top.title)),
      h("button", { type: "button", class: "icon-button", "aria-label": "Close all",
        onclick: () => closeModal(top, true) }, "×")),
    h("form", {
      class: "modal-form",
      novalidate: true,
      onsubmit: (event) => { event.preventDefault(); if (top.submit) submitModal(top); },
    },
    h("div", { class: "modal-body" }, render(top.blocks, blockContext(where, key, top))),
    h("footer", { class: "modal-footer" },
      page.modalError ? h("div", { class: "modal-error", role: "alert" }, page.modalError) : null,
      h("button", { type: "button", class: "button", disabled: busy,
        onclick: () => closeModal(top, false) }, closeText),
      top.submit ? h("button", { type: "submit", class: "button button-primary",
        disabled: busy }, busy ? "…" : T.plainOf(top.submit)) : null)));
    layer.replaceChildren(h("div", { class: "modal-backdrop" }, dialog));
    layer.dataset.viewId = top.id;
    layer.hidden = false;
    if (isNew) {
      const first = dialog.querySelector("input, select, textarea");
      if (first) first.focus();
    } else {
      restoreFocus(focus);
    }
  }

  async function submitModal(view) {
    page.submitting = view.id;
    page.modalError = null;
    page.drawn.modal = null;
    drawModals();
    const answer = await post("/sandbox/submit", { view_id: view.id,
      state: page.entered[`V:${view.id}`] || {} });
    page.submitting = null;
    page.modalError = answer.ok ? null : (answer.error || "That did not work.");
    page.drawn.modal = null;
    await poll();
  }

  async function closeModal(view, everything) {
    page.modalError = null;
    await report("/sandbox/close", { view_id: view.id, everything });
    await poll();
  }

  function confirmDialog(confirm) {
    return new Promise((resolve) => {
      const layer = $("dialog-layer");
      const done = (answer) => {
        layer.hidden = true;
        layer.replaceChildren();
        resolve(answer);
      };
      const danger = confirm.style === "danger";
      layer.replaceChildren(h("div", { class: "modal-backdrop" }, h("div", {
        class: "modal confirm", role: "alertdialog", "aria-modal": "true",
        "aria-labelledby": "confirm-title",
      },
      h("header", { class: "modal-header" }, h("h2", { id: "confirm-title" },
        T.plainOf(confirm.title || { text: "Are you sure?" }))),
      h("div", { class: "modal-body", html: T.textObject(confirm.text, { userName, channelName }) }),
      h("footer", { class: "modal-footer" },
        h("button", { type: "button", class: "button", onclick: () => done(false) },
          T.plainOf(confirm.deny || { text: "Cancel" })),
        h("button", { type: "button", class: `button ${danger ? "button-danger" :
          "button-primary"}`, onclick: () => done(true) },
        T.plainOf(confirm.confirm || { text: "Yes" }))))));
      layer.hidden = false;
      layer.querySelector(".button:last-child").focus();
    });
  }

  // -- Keeping the person's place while redrawing --------------------------------------------

  function rememberFocus() {
    const active = document.activeElement;
    if (!active || !active.dataset || !active.dataset.key) return null;
    const range = "selectionStart" in active && active.type !== "email" && active.type !== "date"
      ? [active.selectionStart, active.selectionEnd] : null;
    return { key: active.dataset.key, range };
  }

  function restoreFocus(focus) {
    if (!focus) return;
    const again = [...document.querySelectorAll("[data-key]")].find(
      (node) => node.dataset.key === focus.key);
    if (!again) return;
    again.focus();
    if (focus.range && again.setSelectionRange) {
      try { again.setSelectionRange(focus.range[0], focus.range[1]); } catch (error) { /* */ }
    }
  }

  // -- The message box -----------------------------------------------------------------------

  function setUpComposer() {
    const box = $("message-box");
    const hints = $("command-hints");
    const showHints = () => {
      const typed = box.value;
      const matches = typed.startsWith("/") && !typed.includes(" ")
        ? COMMANDS.filter((c) => c.command.startsWith(typed)) : [];
      hints.replaceChildren(...matches.map((c) => h("li", {}, h("button", {
        type: "button",
        class: "command-hint",
        onmousedown: (event) => {
          event.preventDefault();
          box.value = `${c.command} `;
          showHints();
        },
      }, h("b", {}, c.command), " ", h("span", { class: "muted" }, c.hint),
      h("div", { class: "muted small" }, c.description)))));
      hints.hidden = !matches.length;
    };
    box.addEventListener("input", showHints);
    box.addEventListener("blur", () => { hints.hidden = true; });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Tab" && !hints.hidden) {
        event.preventDefault();
        box.value = `${COMMANDS[0].command} `;
        showHints();
      } else if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      box.value = "";
      hints.hidden = true;
      await report("/sandbox/message", { channel: page.place, text });
    });
    box.placeholder = "Message — type /portal to open the Admin Portal";
  }

  // -- Start ---------------------------------------------------------------------------------

  function switchTo(userId) {
    page.user = userId;
    page.version = null;
    page.entered = {};
    page.seen = {};
    page.drawn = {};
    page.modalError = null;
    localStorage.setItem("sandbox.user", userId);
    const url = new URL(window.location.href);
    url.searchParams.set("as", userId);
    window.history.replaceState(null, "", url);
    if (page.place === "app:home") sendHomeOpened();
    poll();
  }

  async function start() {
    let workspace = null;
    try {
      workspace = await (await fetch("/sandbox/workspace", { cache: "no-store" })).json();
    } catch (error) {
      setOffline(true);
      return;
    }
    const known = new Set(workspace.people.map((p) => p.id));
    const asked = [new URL(window.location.href).searchParams.get("as"),
      localStorage.getItem("sandbox.user")].find((id) => id && known.has(id));
    $("person").addEventListener("change", (event) => switchTo(event.target.value));
    for (const tab of document.querySelectorAll("#app-tabs [data-tab]")) {
      tab.addEventListener("click", () => go(`app:${tab.dataset.tab}`));
    }
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const top = page.state && page.state.modals[page.state.modals.length - 1];
      if (top && $("dialog-layer").hidden) closeModal(top, false);
    });
    setUpComposer();
    switchTo(asked || workspace.default_person);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
