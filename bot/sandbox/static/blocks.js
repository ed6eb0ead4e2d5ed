/* Block Kit, rendered as Slack's client shows it: one function per block and element type.
 *
 * render(blocks, ctx) returns a DOM fragment. `ctx` says where the blocks are and what using
 * them does:
 *   ctx.where        {surface: "message", channel, ts} | {surface: "modal", view_id} |
 *                    {surface: "home"}
 *   ctx.key          a prefix that makes each field's DOM key unique (focus survives a redraw)
 *   ctx.entered      {block_id: {action_id: value}}: what the person entered (kept by the
 *                    caller across redraws; values are strings, option values, lists, ids)
 *   ctx.initial      {block_id: {action_id: value}}: what Slack already holds (view.state)
 *   ctx.errors       {block_id: message} shown under input blocks
 *   ctx.people, ctx.channels, ctx.userName(id), ctx.channelName(id)
 *   ctx.act(blockId, actionId, value)      -> block_actions
 *   ctx.suggest(blockId, actionId, query)  -> Promise of {options} or {option_groups}
 *   ctx.confirm(confirmObject)             -> Promise of true/false
 * Unknown blocks and elements are shown as a visible note, never dropped silently.
 */
"use strict";

window.SandboxBlocks = (() => {
  const T = window.SandboxText;

  /* A DOM element: h("div", {class: "x", onclick: fn}, child, "text", ...). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "html") node.innerHTML = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function text(obj, ctx, tag = "span", cls = "") {
    return h(tag, { class: cls || undefined, html: T.textObject(obj, ctx) });
  }

  function unsupported(kind, what) {
    return h("div", { class: "unsupported" }, `The sandbox cannot show this ${what}: ${kind}`);
  }

  // -- Entered values ---------------------------------------------------------------------

  /* Slack's state entry (view.state.values) as the simple value the page keeps. */
  function simpleValue(entry) {
    if (!entry || typeof entry !== "object") return undefined;
    if ("value" in entry) return entry.value ?? "";
    if ("selected_option" in entry) {
      const option = entry.selected_option;
      if (!option) return "";
      return entry.type === "external_select"
        ? { value: option.value, text: T.plainOf(option.text) } : option.value;
    }
    if ("selected_options" in entry) return (entry.selected_options || []).map((o) => o.value);
    for (const key of ["selected_user", "selected_conversation", "selected_channel",
      "selected_date", "selected_time"]) {
      if (key in entry) return entry[key] || "";
    }
    return undefined;
  }

  function initialValue(element) {
    switch (element.type) {
      case "static_select": case "radio_buttons":
        return element.initial_option ? element.initial_option.value : "";
      case "external_select":
        return element.initial_option
          ? { value: element.initial_option.value, text: T.plainOf(element.initial_option.text) }
          : "";
      case "checkboxes": case "multi_static_select":
        return (element.initial_options || []).map((o) => o.value);
      case "users_select": return element.initial_user || "";
      case "conversations_select": return element.initial_conversation || "";
      case "channels_select": return element.initial_channel || "";
      case "datepicker": return element.initial_date || "";
      default: return element.initial_value ?? "";
    }
  }

  /* What the field shows: what was entered here, else what Slack holds, else its initial. */
  function current(ctx, blockId, element) {
    const mine = ((ctx.entered || {})[blockId] || {})[element.action_id];
    if (mine !== undefined) return mine;
    const held = simpleValue(((ctx.initial || {})[blockId] || {})[element.action_id]);
    return held !== undefined ? held : initialValue(element);
  }

  function enter(ctx, blockId, element, value) {
    ctx.entered[blockId] = ctx.entered[blockId] || {};
    ctx.entered[blockId][element.action_id] = value;
  }

  function fieldKey(ctx, blockId, element) {
    return `${ctx.key}|${blockId || ""}|${element.action_id || ""}`;
  }

  /* Using an element: confirm first when it asks to, then block_actions. */
  async function use(ctx, blockId, element, value) {
    if (element.confirm && !(await ctx.confirm(element.confirm))) return;
    ctx.act(blockId, element.action_id, value);
  }

  function options(element) {
    const all = [...(element.options || [])];
    for (const group of element.option_groups || []) all.push(...(group.options || []));
    return all;
  }

  function placeholderText(element, fallback) {
    return element.placeholder ? T.plainOf(element.placeholder) : fallback;
  }

  // -- Elements -----------------------------------------------------------------------------

  function button(element, blockId, ctx) {
    const style = element.style ? ` button-${element.style}` : "";
    return h("button", {
      type: "button",
      class: `button${style}`,
      "data-action-id": element.action_id,
      title: element.url || undefined,
      onclick: async (event) => {
        event.preventDefault();
        if (element.confirm && !(await ctx.confirm(element.confirm))) return;
        if (element.url) window.open(element.url, "_blank", "noopener");
        ctx.act(blockId, element.action_id, undefined);
      },
    }, text(element.text, ctx), element.url ? h("span", { class: "external" }, " ↗") : null);
  }

  function optionNodes(element, chosen) {
    const nodes = [];
    const make = (o) => h("option", { value: o.value, selected: o.value === chosen },
      T.plainOf(o.text));
    for (const o of element.options || []) nodes.push(make(o));
    for (const group of element.option_groups || []) {
      nodes.push(h("optgroup", { label: T.plainOf(group.label) }, (group.options || []).map(make)));
    }
    return nodes;
  }

  /* static_select (and the pickers, which are selects over people or channels). */
  function nativeSelect(element, blockId, ctx, choices, dispatch) {
    const chosen = current(ctx, blockId, element);
    const select = h("select", {
      class: "select",
      id: ctx.inputId,
      "data-key": fieldKey(ctx, blockId, element),
      "data-action-id": element.action_id,
      onchange: () => {
        enter(ctx, blockId, element, select.value);
        if (dispatch) use(ctx, blockId, element, select.value);
      },
    }, h("option", { value: "", selected: !chosen }, placeholderText(element, "Select…")),
    choices(chosen));
    return select;
  }

  function staticSelect(element, blockId, ctx, dispatch) {
    return nativeSelect(element, blockId, ctx, (chosen) => optionNodes(element, chosen), dispatch);
  }

  function usersSelect(element, blockId, ctx, dispatch) {
    return nativeSelect(element, blockId, ctx, (chosen) => ctx.people.map((p) =>
      h("option", { value: p.id, selected: p.id === chosen }, p.name)), dispatch);
  }

  function conversationsSelect(element, blockId, ctx, dispatch) {
    return nativeSelect(element, blockId, ctx, (chosen) => ctx.channels.map((c) =>
      h("option", { value: c.id, selected: c.id === chosen }, `#${c.name}`)), dispatch);
  }

  /* external_select: a search box whose options come from the app (block_suggestion). */
  function externalSelect(element, blockId, ctx, dispatch) {
    const chosen = current(ctx, blockId, element);
    const minimum = element.min_query_length ?? 3;
    const box = h("div", { class: "external-select" });
    const input = h("input", {
      type: "text",
      class: "input",
      id: ctx.inputId,
      autocomplete: "off",
      role: "combobox",
      "aria-expanded": "false",
      "data-key": fieldKey(ctx, blockId, element),
      "data-action-id": element.action_id,
      placeholder: placeholderText(element, "Type to search"),
      value: chosen && chosen.text ? chosen.text : "",
    });
    const list = h("ul", { class: "suggestions", role: "listbox", hidden: true });
    let timer = null;
    let asked = 0;
    const choose = (option) => {
      const value = { value: option.value, text: T.plainOf(option.text) };
      enter(ctx, blockId, element, value);
      input.value = value.text;
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      if (dispatch) use(ctx, blockId, element, value);
    };
    const show = (answer) => {
      list.replaceChildren();
      const item = (o) => h("li", {
        role: "option",
        class: "suggestion",
        onmousedown: (event) => { event.preventDefault(); choose(o); },
      }, T.plainOf(o.text));
      for (const o of answer.options || []) list.append(item(o));
      for (const group of answer.option_groups || []) {
        list.append(h("li", { class: "suggestion-group", role: "presentation" },
          T.plainOf(group.label)));
        for (const o of group.options || []) list.append(item(o));
      }
      if (!list.children.length) list.append(h("li", { class: "suggestion-none" }, "No results"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    };
    const ask = () => {
      const query = input.value.trim();
      if (query.length < minimum) { list.hidden = true; return; }
      const mine = ++asked;
      ctx.suggest(blockId, element.action_id, query).then((answer) => {
        if (mine === asked && document.activeElement === input) show(answer);
      });
    };
    input.addEventListener("input", () => {
      enter(ctx, blockId, element, "");  // typing clears the choice until one is picked
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("focus", () => { if (minimum === 0) ask(); });
    input.addEventListener("blur", () => {
      list.hidden = true;
      const picked = current(ctx, blockId, element);
      if (!picked) input.value = "";
    });
    box.append(input, list);
    return box;
  }

  /* plain_text_input, number_input, email and url inputs. */
  function textInput(element, blockId, ctx, dispatch) {
    const multiline = element.type === "plain_text_input" && element.multiline;
    const types = { number_input: "text", email_text_input: "email", url_text_input: "url" };
    const attrs = {
      class: multiline ? "input textarea" : "input",
      id: ctx.inputId,
      "data-key": fieldKey(ctx, blockId, element),
      "data-action-id": element.action_id,
      placeholder: element.placeholder ? T.plainOf(element.placeholder) : undefined,
      maxlength: element.max_length || undefined,
      inputmode: element.type === "number_input"
        ? (element.is_decimal_allowed ? "decimal" : "numeric") : undefined,
    };
    const field = multiline
      ? h("textarea", { ...attrs, rows: 4 })
      : h("input", { ...attrs, type: types[element.type] || "text" });
    field.value = current(ctx, blockId, element) || "";
    const triggers = (element.dispatch_action_config || {}).trigger_actions_on ||
      ["on_enter_pressed"];
    let timer = null;
    field.addEventListener("input", () => {
      enter(ctx, blockId, element, field.value);
      if (dispatch && triggers.includes("on_character_entered")) {
        clearTimeout(timer);
        timer = setTimeout(() => ctx.act(blockId, element.action_id, field.value), 300);
      }
    });
    // Enter dispatches when the element asks for it; otherwise it submits the modal, as in
    // Slack (a multi-line input takes it as a new line).
    field.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || multiline) return;
      if (dispatch && triggers.includes("on_enter_pressed")) {
        event.preventDefault();
        ctx.act(blockId, element.action_id, field.value);
      }
    });
    return field;
  }

  function checkboxes(element, blockId, ctx, dispatch, radio = false) {
    const chosen = current(ctx, blockId, element);
    const ticked = new Set(radio ? [chosen] : chosen || []);
    const group = h("div", {
      class: "choices",
      role: radio ? "radiogroup" : "group",
      id: ctx.inputId,
      "data-action-id": element.action_id,
    });
    const name = fieldKey(ctx, blockId, element);
    for (const o of element.options || []) {
      const box = h("input", {
        type: radio ? "radio" : "checkbox",
        name,
        value: o.value,
        checked: ticked.has(o.value),
        onchange: () => {
          const values = [...group.querySelectorAll("input:checked")].map((i) => i.value);
          const value = radio ? (values[0] || "") : values;
          enter(ctx, blockId, element, value);
          if (dispatch) use(ctx, blockId, element, value);
        },
      });
      group.append(h("label", { class: "choice" }, box, h("span", { class: "choice-text" },
        text(o.text, ctx), o.description ? text(o.description, ctx, "span", "choice-description")
          : null)));
    }
    return group;
  }

  function radioButtons(element, blockId, ctx, dispatch) {
    return checkboxes(element, blockId, ctx, dispatch, true);
  }

  function datepicker(element, blockId, ctx, dispatch) {
    const field = h("input", {
      type: "date",
      class: "input",
      id: ctx.inputId,
      "data-key": fieldKey(ctx, blockId, element),
      "data-action-id": element.action_id,
      value: current(ctx, blockId, element) || "",
      onchange: () => {
        enter(ctx, blockId, element, field.value);
        if (dispatch) use(ctx, blockId, element, field.value);
      },
    });
    return field;
  }

  /* overflow: a "⋯" button with a menu of options. */
  function overflow(element, blockId, ctx) {
    const menu = h("div", { class: "overflow-menu", role: "menu", hidden: true });
    const toggle = h("button", {
      type: "button",
      class: "button overflow",
      "aria-label": "More actions",
      "data-action-id": element.action_id,
      onclick: () => { menu.hidden = !menu.hidden; },
    }, "⋯");
    for (const o of element.options || []) {
      menu.append(h("button", {
        type: "button",
        role: "menuitem",
        class: "overflow-item",
        onclick: () => {
          menu.hidden = true;
          if (o.url) window.open(o.url, "_blank", "noopener");
          use(ctx, blockId, element, o.value);
        },
      }, T.plainOf(o.text)));
    }
    return h("div", { class: "overflow-wrap" }, toggle, menu);
  }

  function imageElement(element) {
    return h("img", { class: "image-element", src: element.image_url, alt: element.alt_text || "" });
  }

  const ELEMENTS = {
    button,
    static_select: staticSelect,
    external_select: externalSelect,
    users_select: usersSelect,
    conversations_select: conversationsSelect,
    channels_select: conversationsSelect,
    plain_text_input: textInput,
    number_input: textInput,
    email_text_input: textInput,
    url_text_input: textInput,
    checkboxes,
    radio_buttons: radioButtons,
    datepicker,
    overflow,
    image: imageElement,
  };

  /* An element in an actions block or accessory (every use dispatches), or an input. */
  function element(el, blockId, ctx, dispatch) {
    const render = ELEMENTS[el.type];
    return render ? render(el, blockId, ctx, dispatch) : unsupported(el.type, "element");
  }

  // -- Blocks -------------------------------------------------------------------------------

  function section(block, ctx) {
    const body = h("div", { class: "section-body" });
    if (block.text) body.append(text(block.text, ctx, "div", "section-text"));
    if (block.fields && block.fields.length) {
      body.append(h("div", { class: "section-fields" },
        block.fields.map((f) => text(f, ctx, "div", "section-field"))));
    }
    const node = h("div", { class: "block block-section" }, body);
    if (block.accessory) {
      node.append(h("div", { class: "accessory" },
        element(block.accessory, block.block_id, ctx, true)));
    }
    return node;
  }

  function actions(block, ctx) {
    return h("div", { class: "block block-actions" },
      (block.elements || []).map((el) => element(el, block.block_id, ctx, true)));
  }

  function input(block, ctx) {
    const el = block.element || {};
    const id = `field-${fieldKey(ctx, block.block_id, el).replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const inner = { ...ctx, inputId: id };
    const error = (ctx.errors || {})[block.block_id];
    const grouped = el.type === "checkboxes" || el.type === "radio_buttons";
    const label = h(grouped ? "div" : "label", { class: "input-label", for: grouped ? undefined : id,
      id: `${id}-label` }, T.plainOf(block.label),
    block.optional ? h("span", { class: "optional" }, " (optional)") : null);
    const control = element(el, block.block_id, inner, Boolean(block.dispatch_action));
    if (grouped) control.setAttribute("aria-labelledby", `${id}-label`);
    if (error) control.setAttribute("aria-invalid", "true");
    return h("div", { class: `block block-input${error ? " has-error" : ""}`,
      "data-block-id": block.block_id },
    label, control,
    error ? h("div", { class: "input-error", role: "alert" }, error) : null,
    block.hint ? h("div", { class: "input-hint" }, T.plainOf(block.hint)) : null);
  }

  function context(block, ctx) {
    return h("div", { class: "block block-context" }, (block.elements || []).map((el) =>
      (el.type === "image" ? imageElement(el) : text(el, ctx, "span", "context-item"))));
  }

  function divider() {
    return h("hr", { class: "block block-divider" });
  }

  function header(block, ctx) {
    return h("div", { class: "block block-header", role: "heading", "aria-level": "3" },
      text(block.text, ctx));
  }

  function image(block, ctx) {
    return h("figure", { class: "block block-image" },
      block.title ? text(block.title, ctx, "figcaption") : null, imageElement(block));
  }

  const BLOCKS = { section, actions, input, context, divider, header, image };

  function render(blocks, ctx) {
    const fragment = document.createDocumentFragment();
    for (const block of blocks || []) {
      const draw = BLOCKS[block.type];
      fragment.append(draw ? draw(block, ctx) : unsupported(block.type, "block"));
    }
    return fragment;
  }

  return { render, h, simpleValue };
})();
