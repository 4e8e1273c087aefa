"use strict";
// Draws the snapshots the server pushes (what the emulators recorded) and posts what the visitor does as actions.
// Every text from the bot or a person is set with textContent: nothing they wrote is ever read as HTML.

const state = { snap: null, person: 1001, user: null, place: "channel", tab: "home", modalKey: "", seen: {} };
const $ = (id) => document.getElementById(id);
const SAFE_LINK = /^(https?:|mailto:|tel:|tg:)/i;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, className, onClick) {
  const node = el("button", className, label);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function drawRuns(parent, runs) {
  for (const run of runs) {
    const link = run.href && SAFE_LINK.test(run.href);
    const node = el(link ? "a" : "span", run.m.map((mark) => "m-" + mark).join(" "), run.t);
    if (link) {
      node.href = run.href;
      node.rel = "noopener noreferrer";
      node.target = "_blank";
      if (run.payload || run.share) node.addEventListener("click", (event) => { event.preventDefault(); follow(run); });
    }
    parent.append(node);
  }
}

async function act(body) {
  let answer;
  try {
    const response = await fetch("/action", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    answer = response.ok ? await response.json() : { error: `the playground answered ${response.status}` };
  } catch {
    answer = { error: "the playground is not running any more" };
  }
  if (answer.error) toast(answer.error, true);
  else if (answer.note) toast(answer.note, false);
  return answer;
}

function toast(text, bad) {
  const box = $("toast");
  box.textContent = text;
  box.className = bad ? "bad" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

function keepScroll(list, draw, moved) {
  const atEnd = moved || list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const top = list.scrollTop;
  draw();
  list.scrollTop = atEnd ? list.scrollHeight : top;
}

// --- Telegram -------------------------------------------------------------------------------------

function follow(link) {
  if (link.payload) return act({ do: "tg_link", person: state.person, payload: link.payload });
  if (link.share) return act({ do: "tg_share_page", person: state.person, url: link.href });
  if (link.href && SAFE_LINK.test(link.href)) window.open(link.href, "_blank", "noopener,noreferrer");
}

function press(key, item) {
  const person = state.person;
  if (key.kind === "callback" && item.kind === "bot") {
    return act({ do: "tg_button", person, message: item.id, data: key.data });
  }
  if (key.kind === "share") return act({ do: "tg_share", person, query: key.query });
  if (key.kind === "url") return follow(key);
  if (key.kind === "copy") {
    navigator.clipboard?.writeText(key.copy).catch(() => {});
    return toast("Copied: " + key.copy, false);
  }
  toast("This button does nothing in the playground", true);
}

function telegramItem(item) {
  const bubble = el("li", "msg " + (item.kind === "me" || item.mine ? "out" : "in"));
  bubble.dir = "auto";
  if (item.kind === "card") bubble.append(el("p", "via", item.mine ? "You sent this to a chat" : `${item.from} sent you`));
  if (item.photo) {
    const picture = el("img", "photo");
    picture.src = item.photo;
    picture.alt = "A picture from the bot";
    bubble.append(picture);
  }
  if (item.document) {
    const file = el("a", "doc", "📄 " + item.document.name);
    file.href = item.document.href;
    file.download = item.document.name;
    bubble.append(file);
  }
  const text = el("p", "text");
  if (item.kind === "me") text.textContent = item.text;
  else drawRuns(text, item.runs);
  bubble.append(text);
  if (item.edited) bubble.append(el("small", "edited", "edited"));
  for (const row of item.buttons || []) {
    const line = el("div", "keys");
    for (const key of row) line.append(button(key.text, "key " + key.kind, () => press(key, item)));
    bubble.append(line);
  }
  return bubble;
}

function renderTelegram(tg) {
  const person = tg.people.find((p) => p.id === state.person) || tg.people[0];
  state.seen[person.id] = person.received;
  $("tg-people").replaceChildren(...tg.people.map((p) => {
    const chip = button(p.name, "person", () => { state.person = p.id; render(); });
    chip.setAttribute("aria-pressed", String(p.id === person.id));
    chip.title = `${p.name}, a ${p.role}`;
    const unread = p.received - (state.seen[p.id] || 0);
    if (unread > 0) chip.append(el("span", "badge", String(unread)));
    chip.setAttribute("aria-label", unread > 0 ? `${p.name}, ${unread} new` : p.name);
    return chip;
  }));
  const chat = $("tg-chat");
  keepScroll(chat, () => chat.replaceChildren(...person.items.map(telegramItem)), chat.dataset.person !== String(person.id));
  chat.dataset.person = String(person.id);
  const offered = $("tg-offered");
  offered.hidden = !person.offered.length;
  offered.replaceChildren();
  if (person.offered.length) {
    offered.append(el("p", "hint", "Choose what to send into the chat:"));
    for (const card of person.offered) {
      const choice = button("", "card", () => act({ do: "tg_choose", person: person.id, result: card.id }));
      choice.append(el("strong", "", card.title), el("small", "", card.description));
      offered.append(choice);
    }
    offered.append(button("Cancel", "cancel", () => act({ do: "tg_dismiss", person: person.id })));
  }
  $("tg-keyboard").replaceChildren(...(person.keyboard || []).map((row) => {
    const line = el("div", "keys");
    for (const key of row) {
      const send = key.contact ? { do: "tg_contact" } : { do: "tg_text", text: key.text };
      line.append(button(key.text, "key", () => act({ ...send, person: person.id })));
    }
    return line;
  }));
}

// --- Slack ----------------------------------------------------------------------------------------

function textObject(object) {
  const text = el("div", "btext");
  if (object.runs) drawRuns(text, object.runs);
  else text.textContent = object.text || "";
  return text;
}

function picture(element) {
  if (!element.src) return el("span", "noimg", "🖼 " + (element.alt_text || "a picture"));
  const image = el("img", "bimg");
  image.src = element.src;
  image.alt = element.alt_text || "";
  return image;
}

function element(item, message) {
  if (item.type === "image") return picture(item);
  if (item.type !== "button") return el("span", "unsupported", `(${item.type})`);
  return button(item.text.text, "sbtn " + (item.style || ""), () => {
    if (item.url && SAFE_LINK.test(item.url)) window.open(item.url, "_blank", "noopener,noreferrer");
    else if (message) act({ do: "slack_click", user: state.user, ts: message.ts, action: item.action_id });
    else toast("Buttons outside messages are not part of the playground", true);
  });
}

function field(block) {
  const box = el("div", "binput");
  const input = el(block.element.multiline ? "textarea" : "input");
  input.id = "in-" + block.block_id;
  input.dataset.block = block.block_id;
  input.dataset.action = block.element.action_id;
  input.placeholder = block.element.placeholder?.text || "";
  input.value = block.element.initial_value || "";
  if (block.element.max_length) input.maxLength = block.element.max_length;
  const label = el("label", "", block.label.text);
  label.htmlFor = input.id;
  const problem = el("p", "error");
  problem.id = "err-" + block.block_id;
  problem.hidden = true;
  input.setAttribute("aria-describedby", problem.id);
  box.append(label, input, problem);
  if (block.hint) box.append(el("p", "hint", block.hint.text));
  return box;
}

const BLOCKS = {
  header: (block) => el("h3", "bheader", block.text.text),
  divider: () => el("hr"),
  image: (block) => picture(block),
  input: field,
  rich_text: (block) => el("p", "btext", block.plain || ""),
  section: (block, message) => {
    const section = el("div", "bsection");
    if (block.text) section.append(textObject(block.text));
    if (block.fields) section.append(el("div", "fields"));
    for (const item of block.fields || []) section.lastChild.append(textObject(item));
    if (block.accessory) section.append(element(block.accessory, message));
    return section;
  },
  context: (block) => {
    const line = el("div", "bcontext");
    for (const item of block.elements) line.append(item.type === "image" ? picture(item) : textObject(item));
    return line;
  },
  actions: (block, message) => {
    const row = el("div", "bactions");
    for (const item of block.elements) row.append(element(item, message));
    return row;
  },
};

function drawBlocks(blocks, message) {
  const box = el("div", "blocks");
  for (const block of blocks) box.append(BLOCKS[block.type]?.(block, message) || el("span", "unsupported", block.type));
  return box;
}

function slackMessage(message) {
  const box = el("article", "smsg" + (message.ephemeral ? " ephemeral" : ""));
  box.dir = "auto";
  const head = el("div", "shead");
  head.append(el("strong", "", "Referral Bot"), el("span", "app", "APP"));
  if (message.ephemeral) head.append(el("span", "only", "Only visible to you"));
  if (message.edited) head.append(el("span", "edited", "(edited)"));
  box.append(head);
  if (message.blocks.length) box.append(drawBlocks(message.blocks, message));
  else drawRuns(box.appendChild(el("div", "btext")), message.runs);
  for (const file of message.files) {
    if (!file.image) box.append(el("a", "doc", "📄 " + file.title));
    else box.append(picture({ src: file.href, alt_text: file.title }));
  }
  if (message.replies.length) {
    const thread = el("div", "thread");
    const count = message.replies.length;
    thread.append(el("p", "count", `${count} ${count === 1 ? "reply" : "replies"}`), ...message.replies.map(slackMessage));
    box.append(thread);
  }
  return box;
}

function renderModal(view) {
  const back = $("modal");
  const key = view ? `${state.user} ${view.id} ${view.hash}` : "";
  if (key === state.modalKey) return;
  state.modalKey = key;
  back.hidden = !view;
  back.replaceChildren();
  if (!view) return;
  const dialog = el("form", "dialog");
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.setAttribute("aria-label", view.title.text);
  const close = button(view.close?.text || "Cancel", "sbtn", () => act({ do: "slack_close", user: state.user, view: view.id }));
  const footer = el("div", "dfoot");
  footer.append(close);
  if (view.submit) footer.append(el("button", "sbtn primary", view.submit.text));
  dialog.append(el("h2", "", view.title.text), drawBlocks(view.blocks, null), footer);
  dialog.addEventListener("submit", (event) => { event.preventDefault(); submit(view, dialog); });
  dialog.addEventListener("keydown", (event) => { if (event.key === "Escape") close.click(); });
  back.append(dialog);
  dialog.querySelector("input, textarea")?.focus();
}

async function submit(view, form) {
  const values = {};
  for (const input of form.querySelectorAll("[data-block]")) {
    (values[input.dataset.block] ??= {})[input.dataset.action] = input.value;
  }
  const answer = await act({ do: "slack_submit", user: state.user, view: view.id, values });
  for (const problem of form.querySelectorAll(".error")) problem.hidden = true;
  for (const [block, words] of Object.entries(answer.errors || {})) {
    const problem = form.querySelector("#" + CSS.escape("err-" + block));
    if (problem) Object.assign(problem, { textContent: words, hidden: false });
  }
}

function renderSlack(slack) {
  state.user ??= slack.people[0].id;
  const view = slack.views[state.user];
  $("slack-people").replaceChildren(...slack.people.map((p) => {
    const chip = button(`${p.name} · ${p.role}`, "person", () => { state.user = p.id; place(state.place); });
    chip.setAttribute("aria-pressed", String(p.id === state.user));
    return chip;
  }));
  const inApp = state.place === "app", home = inApp && state.tab === "home";
  const dmSeen = `dm ${state.user}`;
  if (inApp && !home) state.seen[dmSeen] = view.dm.length;
  const unread = view.dm.length - (state.seen[dmSeen] || 0);
  Object.assign($("app-badge"), { hidden: unread <= 0, textContent: String(unread) });
  $("go-app").setAttribute("aria-label", unread > 0 ? `Referral Bot, ${unread} new` : "Referral Bot");
  $("go-channel").setAttribute("aria-current", String(!inApp));
  $("go-app").setAttribute("aria-current", String(inApp));
  $("pane-title").textContent = inApp ? "Referral Bot" : "# " + slack.channel.name;
  $("slack-tabs").hidden = !inApp;
  $("tab-home").setAttribute("aria-selected", String(home));
  $("tab-messages").setAttribute("aria-selected", String(inApp && !home));
  $("slack-compose").hidden = home;
  const feed = $("slack-feed"), shown = `${state.user} ${state.place} ${state.tab}`;
  keepScroll(feed, () => {
    if (!home) feed.replaceChildren(...(inApp ? view.dm : view.channel).map(slackMessage));
    else feed.replaceChildren(view.home ? drawBlocks(view.home.blocks, null) : el("p", "hint", "Opening the Home tab…"));
  }, feed.dataset.shown !== shown);
  if (home && feed.dataset.shown !== shown) feed.scrollTop = 0;  // a dashboard is read from the top
  feed.dataset.shown = shown;
  renderModal(view.modal);
}

function place(where, tab) {
  state.place = where;
  if (tab) state.tab = tab;
  if (where === "app" && state.tab === "home") act({ do: "slack_home", user: state.user });
  render();
}

function render() {
  if (!state.snap) return;
  $("clock").textContent = state.snap.clock;
  renderTelegram(state.snap.telegram);
  renderSlack(state.snap.slack);
}

function start() {
  for (const time of document.querySelectorAll("[data-minutes]")) {
    time.addEventListener("click", () => act({ do: "advance", minutes: Number(time.dataset.minutes) }));
  }
  $("tg-new").addEventListener("click", async () => {
    const answer = await act({ do: "tg_new_friend" });
    if (answer.person) state.person = answer.person;
    render();
  });
  $("tg-compose").addEventListener("submit", (event) => {
    event.preventDefault();
    act({ do: "tg_text", person: state.person, text: $("tg-text").value });
    $("tg-text").value = "";
  });
  $("slack-compose").addEventListener("submit", (event) => {
    event.preventDefault();
    act({ do: "slack_command", user: state.user, text: $("slack-text").value, where: state.place === "app" ? "dm" : "channel" });
    $("slack-text").value = "";
  });
  $("go-channel").addEventListener("click", () => place("channel"));
  $("go-app").addEventListener("click", () => place("app"));
  $("tab-home").addEventListener("click", () => place("app", "home"));
  $("tab-messages").addEventListener("click", () => place("app", "messages"));
  const events = new EventSource("/events");
  events.onmessage = (event) => { state.snap = JSON.parse(event.data); render(); };
  events.onerror = () => { $("clock").textContent = "reconnecting…"; };
}

start();
