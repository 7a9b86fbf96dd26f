"""The simulator's page: the customers' phones, one conversation thread per number.

Rendered whole by the server (it works without JavaScript: forms post and come back),
then kept current in place by a small script that polls `/api/conversations` every
1.5 s and replaces only the thread list and the messages: the reply box is never
re-rendered, so what you are typing stays. Its placeholder says what the customer is
being asked ("0-10", "why?"). Times are shown in the browser's zone, named.
"""

import html
import json
from typing import Any

from devtools.simulator.threads import Message

PAGE_STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#eef0f3;
color:#1f2430}
header{padding:12px 16px;background:#fff;border-bottom:1px solid #dde1e7}
h1{font-size:18px;margin:0}header p{margin:4px 0 0;color:#5b6473;font-size:13px}
main{display:grid;grid-template-columns:280px minmax(0,1fr);gap:0;max-width:1100px;
margin:0 auto;min-height:calc(100vh - 64px)}
nav{background:#fff;border-right:1px solid #dde1e7;overflow-y:auto}
nav h2,.thread h2{font-size:14px;margin:0;padding:10px 14px;color:#5b6473}
nav ol{list-style:none;margin:0;padding:0}
nav a{display:block;padding:10px 14px;border-top:1px solid #eceef2;color:inherit;
text-decoration:none;overflow-wrap:anywhere}
nav a[aria-current=true]{background:#e6eefc}
nav .last{display:block;color:#5b6473;font-size:13px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
.new{padding:10px 14px;border-top:1px solid #eceef2;display:grid;gap:6px}
.thread{display:flex;flex-direction:column;min-width:0}
#messages{list-style:none;margin:0;padding:12px 14px;flex:1;overflow-y:auto;display:flex;
flex-direction:column;gap:8px}
.bubble{max-width:78%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;
overflow-wrap:anywhere}
.out{align-self:flex-start;background:#fff;border:1px solid #dde1e7}
.in{align-self:flex-end;background:#2f6fdb;color:#fff}
.meta{display:block;font-size:11px;opacity:.75;margin-top:2px}
.reply{display:flex;gap:6px;padding:10px 14px;background:#fff;border-top:1px solid #dde1e7;
position:sticky;bottom:0}
input{min-width:0;flex:1;padding:9px 12px;border:1px solid #c4cad3;border-radius:18px;
font:inherit}
button{padding:9px 16px;border:0;border-radius:18px;background:#2f6fdb;color:#fff;font:inherit}
.empty{color:#5b6473;padding:24px 14px}
details{padding:10px 14px;color:#5b6473;font-size:13px}
@media (max-width:700px){main{grid-template-columns:minmax(0,1fr)}
nav{border-right:0;border-bottom:1px solid #dde1e7;max-height:32vh}}
"""

# Fills the thread list and the messages from /api/conversations; never touches the
# reply box except its placeholder and the number it answers from.
PAGE_SCRIPT = """
(() => {
  const state = JSON.parse(document.getElementById("state").textContent);
  const list = document.getElementById("threads");
  const box = document.getElementById("messages");
  const reply = document.getElementById("reply");
  const text = reply.elements.text, from = reply.elements.from;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let shown = "";
  const when = (iso) => iso ? new Date(iso).toLocaleString([], {month: "short",
    day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"}) : "";
  const el = (tag, cls, body) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (body !== undefined) node.textContent = body;
    return node;
  };
  function draw(data) {
    state.phone = data.phone;
    list.replaceChildren(...data.threads.map((t) => {
      const item = el("li"), link = el("a", "", t.phone);
      link.href = "?phone=" + encodeURIComponent(t.phone);
      link.dataset.phone = t.phone;
      link.setAttribute("aria-current", String(t.phone === data.phone));
      link.append(el("span", "last", t.last));
      item.append(link);
      return item;
    }));
    document.getElementById("who").textContent = data.phone || "No conversation yet";
    reply.hidden = !data.phone;
    from.value = data.phone || "";
    text.placeholder = data.hint;
    const key = JSON.stringify(data.messages);
    if (key === shown) return;  // nothing new: leave the thread (and its scroll) alone
    shown = key;
    box.replaceChildren(...data.messages.map((m) => {
      const bubble = el("li", "bubble " + m.direction, m.text);
      bubble.dataset.id = m.id;
      bubble.append(el("span", "meta", when(m.at) + " · " + m.status));
      return bubble;
    }));
    box.scrollTop = box.scrollHeight;
    document.getElementById("zone").textContent = "times in " + zone;
    document.body.dataset.live = "yes";  // drawn by the script at least once
  }
  async function refresh() {
    const query = state.phone ? "?phone=" + encodeURIComponent(state.phone) : "";
    try {
      const answer = await fetch("/api/conversations" + query);
      if (answer.ok) draw(await answer.json());
    } catch (error) { /* the simulator restarted: try again at the next tick */ }
  }
  async function send(phone, body) {
    await fetch("/inbound", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({from: phone, text: body})});
    state.phone = phone;
    history.replaceState(null, "", "?phone=" + encodeURIComponent(phone));
    await refresh();
  }
  reply.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    text.value = "";
    send(from.value, body);
  });
  const start = document.getElementById("start");
  start.addEventListener("submit", (event) => {
    event.preventDefault();
    const phone = start.elements.from.value.trim(), body = start.elements.text.value.trim();
    if (!phone || !body) return;
    start.reset();
    send(phone, body);
  });
  list.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-phone]");
    if (!link) return;
    event.preventDefault();
    state.phone = link.dataset.phone;
    shown = "";
    history.replaceState(null, "", link.href);
    refresh();
  });
  refresh();
  setInterval(refresh, 1500);
})();
"""


def _thread_items(threads: list[Message], phone: str) -> str:
    return "".join(
        f'<li><a href="?phone={html.escape(t["phone"])}" data-phone="{html.escape(t["phone"])}"'
        f' aria-current="{"true" if t["phone"] == phone else "false"}">'
        f'{html.escape(t["phone"])}<span class="last">{html.escape(t["last"])}</span></a></li>'
        for t in threads
    )


def _bubbles(messages: list[Message]) -> str:
    return "".join(
        f'<li class="bubble {m["direction"]}" data-id="{html.escape(str(m["id"]))}">'
        f'{html.escape(m["text"])}<span class="meta">{html.escape(m["at"][:19])} UTC · '
        f"{html.escape(m['status'])}</span></li>"
        for m in messages
    )


def render_page(*, settings: dict[str, str], state: dict[str, Any]) -> str:
    """The whole page for `state` (what /api/conversations answers for the chosen number)."""
    phone = state["phone"] or ""
    config = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in settings.items()
    )
    empty = '<li class="empty">No messages yet.</li>'
    # JSON inside <script>: "<" escaped, so no text can close the element.
    embedded = json.dumps(state, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SMS gateway simulator</title><style>{PAGE_STYLE}</style></head>
<body><header><h1>SMS gateway simulator</h1>
<p>The customers' phones. Auto-reply: {html.escape(settings["Auto-reply"])}</p></header>
<main><nav><h2>Conversations</h2><ol id="threads">{_thread_items(state["threads"], phone)}</ol>
<form class="new" id="start" method="post" action="/inbound">
<input name="from" placeholder="+8613800138000" required aria-label="Phone number">
<input name="text" placeholder="Message" required aria-label="Message">
<button>Send as this customer</button></form>
<details><summary>Configuration</summary><dl>{config}</dl></details></nav>
<section class="thread"><h2><span id="who">{html.escape(phone or "No conversation yet")}</span>
· <span id="zone">times in UTC</span></h2>
<ol id="messages">{_bubbles(state["messages"]) or empty}</ol>
<form class="reply" id="reply" method="post" action="/inbound"{"" if phone else " hidden"}>
<input type="hidden" name="from" value="{html.escape(phone)}">
<input name="text" placeholder="{html.escape(state["hint"])}" required autocomplete="off"
 aria-label="Reply"><button>Send</button></form></section></main>
<script type="application/json" id="state">{embedded}</script>
<script>{PAGE_SCRIPT}</script></body></html>
"""
