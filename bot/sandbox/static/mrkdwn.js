/* Slack's text formats, rendered to safe HTML: mrkdwn and plain_text (with emoji).
 *
 * mrkdwn: *bold*, _italic_, ~strike~, `code`, ```preformatted```, > quotes, line breaks,
 * <url|text> links, <@U123> user mentions (shown as names), <#C123|name> channel mentions,
 * <!here>-style specials, <!date^ts^{format}|fallback> dates, and :emoji: shortcodes.
 * Everything the app wrote is HTML-escaped first; links are kept only for http(s) and mailto.
 */
"use strict";

window.SandboxText = (() => {
  const EMOJI = {
    white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️",
    information_source: "ℹ️", lock: "🔒", unlock: "🔓", key: "🔑", credit_card: "💳",
    moneybag: "💰", money_with_wings: "💸", pound: "💷", euro: "💶", dollar: "💵",
    receipt: "🧾", page_facing_up: "📄", memo: "📝", clipboard: "📋", email: "📧",
    envelope: "✉️", bell: "🔔", hourglass: "⌛", hourglass_flowing_sand: "⏳", tada: "🎉",
    wave: "👋", bank: "🏦", calendar: "📅", date: "📅", chart_with_upwards_trend: "📈",
    point_right: "👉", rotating_light: "🚨", link: "🔗", bust_in_silhouette: "👤",
    busts_in_silhouette: "👥", gear: "⚙️", red_circle: "🔴", large_green_circle: "🟢",
    large_yellow_circle: "🟡", white_circle: "⚪", arrow_right: "➡️", arrow_left: "⬅️",
    heavy_plus_sign: "➕", heavy_minus_sign: "➖", pencil2: "✏️", mag: "🔍", eyes: "👀",
    sparkles: "✨", zap: "⚡", package: "📦", construction: "🚧", question: "❓",
    exclamation: "❗", no_entry: "⛔", no_entry_sign: "🚫", shield: "🛡️", inbox_tray: "📥",
    outbox_tray: "📤", repeat: "🔁", arrows_counterclockwise: "🔄", telephone_receiver: "📞",
    office: "🏢", house: "🏠", star: "⭐", thumbsup: "👍", "+1": "👍", heart: "❤️",
    smile: "😄", slightly_smiling_face: "🙂", robot_face: "🤖",
  };

  /* The app's most used emoji, drawn with CSS so they show without an emoji font. */
  const BADGES = {
    white_check_mark: ["check", "✓"], heavy_check_mark: ["check", "✓"], x: ["cross", "✕"],
    warning: ["warning", "!"], information_source: ["info", "i"],
  };

  const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
  }

  /* Slack escapes &, < and > in message text; show them as the characters they stand for. */
  function unescapeSlack(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function emoji(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => {
      const badge = BADGES[name];
      if (badge) {
        return `<span class="emoji emoji-${badge[0]}" role="img" aria-label="${name}">${
          badge[1]}</span>`;
      }
      return EMOJI[name] || whole;
    });
  }

  function safeUrl(url) {
    return /^(https?:|mailto:)/i.test(url) ? url : null;
  }

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
    "Nov", "Dec"];
  const LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  /* <!date^1392734382^{date_short_pretty} at {time}|fallback> */
  function formatDate(seconds, format, fallback) {
    const when = new Date(Number(seconds) * 1000);
    if (Number.isNaN(when.getTime())) return fallback;
    const pad = (n) => String(n).padStart(2, "0");
    const now = new Date();
    const yesterday = new Date(now.getTime() - 86400000);
    const short = `${MONTHS[when.getMonth()]} ${when.getDate()}, ${when.getFullYear()}`;
    const long = `${LONG_MONTHS[when.getMonth()]} ${when.getDate()}, ${when.getFullYear()}`;
    const pretty = (text) => {
      if (sameDay(when, now)) return "today";
      if (sameDay(when, yesterday)) return "yesterday";
      return text;
    };
    const tokens = {
      date_num: `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`,
      date: long,
      date_short: short,
      date_long: `${when.toLocaleDateString("en-GB", { weekday: "long" })}, ${long}`,
      date_pretty: pretty(long),
      date_short_pretty: pretty(short),
      date_long_pretty: pretty(long),
      time: `${pad(when.getHours())}:${pad(when.getMinutes())}`,
      time_secs: `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`,
    };
    let known = true;
    const text = format.replace(/\{([a-z_]+)\}/g, (whole, name) => {
      if (!(name in tokens)) known = false;
      return tokens[name] || whole;
    });
    return known ? text : fallback;
  }

  /* One <...> token, as HTML. */
  function renderToken(inner, ctx) {
    const [target, label] = splitOnce(inner, "|");
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return `<span class="mention">@${escapeHtml(ctx.userName(id) || label || id)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      return `<span class="mention">#${escapeHtml(ctx.channelName(id) || label || id)}</span>`;
    }
    if (target.startsWith("!date^")) {
      const [, seconds, format] = target.split("^");
      return escapeHtml(formatDate(seconds, format || "", unescapeSlack(label || "")));
    }
    if (target.startsWith("!subteam^")) {
      return `<span class="mention">${escapeHtml(label || "@group")}</span>`;
    }
    if (target.startsWith("!")) {
      return `<span class="mention">@${escapeHtml(label || target.slice(1))}</span>`;
    }
    const url = safeUrl(unescapeSlack(target));
    const text = label !== undefined ? label : target;
    if (!url) return escapeHtml(unescapeSlack(text));
    return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${
      inlineFormat(escapeHtml(unescapeSlack(text)))}</a>`;
  }

  function splitOnce(text, separator) {
    const at = text.indexOf(separator);
    return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
  }

  /* Bold, italic and strike on escaped text; \u0000n\u0000 placeholders pass through. */
  function inlineFormat(html) {
    return html
      .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1<b>$2</b>")
      .replace(/(^|[^\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1<i>$2</i>")
      .replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?!\w)/g, "$1<s>$2</s>");
  }

  function mrkdwn(text, ctx) {
    const held = [];
    const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
    let source = String(text || "");
    // Preformatted blocks, then inline code: their contents are shown as written.
    source = source.replace(/```([\s\S]*?)```/g, (whole, code) =>
      hold(`<pre class="code-block">${escapeHtml(unescapeSlack(code.replace(/^\n/, "")))}</pre>`));
    source = source.replace(/`([^`\n]+)`/g, (whole, code) =>
      hold(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
    source = source.replace(/<([^<>\n]+)>/g, (whole, inner) => hold(renderToken(inner, ctx)));
    const lines = escapeHtml(unescapeSlack(source)).split("\n");
    const out = [];
    let quote = [];
    const flushQuote = () => {
      if (quote.length) out.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
      quote = [];
    };
    for (const line of lines) {
      const quoted = /^&gt;\s?(.*)$/.exec(line);
      if (quoted) {
        quote.push(inlineFormat(quoted[1]));
        continue;
      }
      flushQuote();
      out.push(inlineFormat(line));
    }
    flushQuote();
    const html = emoji(out.join("<br>").replace(/<\/blockquote><br>/g, "</blockquote>"));
    return html.replace(/\u0000(\d+)\u0000/g, (whole, index) => held[Number(index)]);
  }

  /* A text object (plain_text or mrkdwn) as HTML. */
  function textObject(obj, ctx) {
    if (!obj) return "";
    if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
    const escaped = escapeHtml(obj.text || "");
    return obj.emoji === false ? escaped : emoji(escaped);
  }

  /* A text object as plain text (for labels of native controls). */
  function plainOf(obj) {
    if (!obj) return "";
    const text = String(obj.text || "");
    return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
  }

  return { mrkdwn, textObject, plainOf, escapeHtml, safeUrl };
})();
