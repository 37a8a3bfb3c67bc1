"""The app's pages: plain HTML, CSS and JavaScript served inline (no network, no build step).

Every value from the data reaches the page through `textContent`, never as markup.
"""
from __future__ import annotations

import html

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f4f4f2; color: #1d1d1b; }
header { background: #24323f; color: #fff; padding: 8px 18px; display: flex; gap: 18px; align-items: baseline; }
header h1 { font-size: 17px; margin: 0; } header a { color: #cfe0ee; }
main { display: grid; grid-template-columns: minmax(300px, 460px) 1fr; gap: 22px; padding: 18px; }
video { width: 100%; max-height: 60vh; background: #000; border-radius: 4px; }
.panel { background: #fff; border-radius: 6px; padding: 14px 16px; box-shadow: 0 1px 2px #0002; }
.muted { color: #6b6b66; font-size: 13px; } .tag { background: #e6eef5; border-radius: 3px; padding: 1px 6px; }
.question { font-size: 20px; font-weight: 600; margin: 8px 0 12px; }
.keys kbd, kbd { border: 1px solid #bbb; border-bottom-width: 2px; border-radius: 3px; padding: 0 5px;
  background: #fafafa; font-size: 12px; }
button { font: inherit; padding: 6px 14px; margin: 4px 6px 4px 0; border-radius: 4px; border: 1px solid #889;
  background: #fff; cursor: pointer; } button.yes { border-color: #2d7d46; } button.no { border-color: #b23b3b; }
.chosen { background: #24323f; color: #fff; } .chosen kbd { color: #1d1d1b; }
textarea { width: 100%; min-height: 90px; font: inherit; }
#reasonbox { border-left: 4px solid #d9a400; padding-left: 10px; margin-top: 12px; }
.note { color: #9a3412; } .hidden { display: none; }
table { border-collapse: collapse; } td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
"""

LOGOUT = """<form method="post" action="/logout" id="logout" class="hidden" style="margin-left:auto">
  <button type="submit" style="margin:0;padding:2px 10px">log out</button></form>"""

ANNOTATE_BODY = """
<header><h1>fingereval annotate</h1>
  <span>annotator <b id="who"></b> <a href="#" id="rename">change</a></span>
  <span id="progress"><b id="done">0</b> done &middot; <b id="left">?</b> left</span>
  <a href="/adjudicate" id="adjudicatelink">adjudicate</a>""" + LOGOUT + """</header>
<div id="namebox" class="panel hidden" style="margin:18px;max-width:420px">
  <label>Your name <input id="name" autocomplete="username"></label> <button id="start">start</button></div>
<main id="work" class="hidden">
  <div>
    <figure id="imagebox" class="hidden" style="margin:0 0 8px">
      <img id="condimage" alt="the image the video was generated from" style="max-width:100%;max-height:30vh">
      <figcaption class="muted">the image the video was generated from &middot; <span id="imagename"></span>
      </figcaption></figure>
    <video id="player" controls preload="auto" muted playsinline></video>
    <div class="muted"><span id="clock">0.00 s</span> &middot; frame <span id="frame">0</span>
      &middot; <span id="videoname"></span></div>
    <p id="videonote" class="note hidden"></p>
    <p class="keys muted"><kbd>space</kbd> play/pause &middot; <kbd>,</kbd> <kbd>.</kbd> one frame back/forward
      &middot; <kbd>&larr;</kbd> <kbd>&rarr;</kbd> one second</p>
  </div>
  <div class="panel">
    <div class="muted">prompt</div><div id="prompt"></div>
    <div style="margin-top:10px"><span class="tag" id="dimension"></span>
      entity: <b id="entity"></b></div>
    <div class="question" id="question"></div>
    <div id="answerbox">
      <button class="yes" id="yes"><kbd>y</kbd> yes</button><button class="no" id="no"><kbd>n</kbd> no</button>
    </div>
    <div id="reasonbox" class="hidden">
      <div class="muted">your answer: <b id="given"></b>. The reason below was written for the answer
        <b id="reasonfor"></b>. Does it hold for this video?</div>
      <p id="reason"></p>
      <button id="accept"><kbd>a</kbd> accept</button><button id="edit"><kbd>e</kbd> edit</button>
      <button id="reject"><kbd>r</kbd> reject</button><button id="back"><kbd>esc</kbd> change answer</button>
      <div id="editbox" class="hidden"><textarea id="edited"></textarea>
        <button id="save"><kbd>ctrl</kbd>+<kbd>enter</kbd> save the edited reason</button></div>
    </div>
    <p id="status" class="muted"></p>
  </div>
</main>
<div id="finished" class="panel hidden" style="margin:18px">Nothing is left for you: thank you.
  <span id="finalcount"></span></div>
"""

COMMON_SCRIPT = """
const $ = (id) => document.getElementById(id);
function show(id, on) { $(id).classList.toggle('hidden', !on); }

async function api(path, options) {
  const r = await fetch(path, options);
  if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search); }
  return r;
}

// the message of an error answer ({"error": {"type", "message"}}), whatever came back
async function problem(r) {
  const text = await r.text();
  try { return JSON.parse(text).error.message; } catch (e) { return text.slice(0, 300); }
}

async function whoami() {
  const me = await (await api('/api/me')).json();
  show('logout', me.mode !== 'open');
  return me;
}

// why a video did not play: the server's refusal if it refused it, else the browser's codec
async function videoTrouble(url) {
  try {
    const r = await fetch(url, {headers: {Range: 'bytes=0-0'}});
    if (!r.ok) return 'The video could not be loaded (' + r.status + '): ' + await problem(r);
  } catch (e) {
    return 'The video could not be loaded: ' + e;
  }
  return 'This browser cannot play the video (its codec): re-encode it as H.264 mp4 or VP9 webm.';
}
"""

ANNOTATE_SCRIPT = """
const params = new URLSearchParams(location.search);
let annotator = params.get('annotator') || localStorage.getItem('fingereval-annotator') || '';
let item = null, answer = null, busy = false, named = false;  // named: the users file names you

function showProgress(p) { $('done').textContent = p.done; $('left').textContent = p.left; }
function whose() { return named ? '' : '?annotator=' + encodeURIComponent(annotator); }

async function load() {
  const r = await api('/api/next' + whose());
  if (r.status === 204) {
    item = null; show('work', false); show('finished', true);
    const p = await (await api('/api/progress' + whose())).json();
    showProgress(p); $('finalcount').textContent = p.done + ' items labelled.';
    return;
  }
  if (!r.ok) { $('status').textContent = 'error ' + r.status + ': ' + await problem(r); return; }
  item = await r.json(); answer = null;
  show('finished', false); show('work', true); show('reasonbox', false); show('editbox', false);
  show('answerbox', true); show('videonote', false);
  for (const k of ['prompt', 'question', 'dimension']) $(k).textContent = item[k];
  $('entity').textContent = item.entity || '(whole video)';
  $('videoname').textContent = item.video;
  // image-to-video: the conditioning image before the video, as the model was shown it
  show('imagebox', !!item.image_url);
  if (item.image_url) { $('condimage').src = item.image_url; $('imagename').textContent = item.image; }
  else $('condimage').removeAttribute('src');
  $('player').src = item.video_url;
  showProgress(item.progress);
  $('status').textContent = '';
}

function choose(value) {
  if (!item || busy) return;
  answer = value;
  $('yes').classList.toggle('chosen', value === 'yes'); $('no').classList.toggle('chosen', value === 'no');
  if (item.reason) {
    $('given').textContent = value; $('reasonfor').textContent = item.reason_answer || 'not given';
    $('reason').textContent = item.reason; show('reasonbox', true);
  } else {
    send(null, null);
  }
}

function backToAnswer() { answer = null; show('reasonbox', false); show('editbox', false);
  $('yes').classList.remove('chosen'); $('no').classList.remove('chosen'); }

function startEdit() { show('editbox', true); $('edited').value = item.reason; $('edited').focus(); }

async function send(verdict, reason) {
  if (!item || !answer || busy) return;
  busy = true;
  try {
    const body = {item_id: item.item_id, answer, reason_verdict: verdict, reason};
    if (!named) body.annotator = annotator;
    const r = await api('/api/labels', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                        body: JSON.stringify(body)});
    if (!r.ok) { $('status').textContent = 'not saved (' + r.status + '): ' + await problem(r); return; }
    showProgress((await r.json()).progress);
    $('yes').classList.remove('chosen'); $('no').classList.remove('chosen');
    await load();
  } finally { busy = false; }
}

function step(seconds) {
  const v = $('player'); v.pause();
  v.currentTime = Math.min(Math.max(0, v.currentTime + seconds), v.duration || 0);
}

document.addEventListener('keydown', (e) => {
  const typing = ['INPUT', 'TEXTAREA'].includes(document.activeElement.tagName);
  if (typing) {
    if (document.activeElement.id === 'edited' && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault(); send('edit', $('edited').value);
    } else if (e.key === 'Escape') { document.activeElement.blur(); show('editbox', false); }
    return;
  }
  if (!item || e.ctrlKey || e.metaKey || e.altKey) return;
  const frame = 1 / (item.fps || 25);
  const keys = {
    'y': () => choose('yes'), 'n': () => choose('no'),
    ' ': () => { const v = $('player'); v.paused ? v.play() : v.pause(); },
    ',': () => step(-frame), '.': () => step(frame),
    'ArrowLeft': () => step(-1), 'ArrowRight': () => step(1),
  };
  if (answer && item.reason) {
    Object.assign(keys, {'a': () => send('accept', null), 'r': () => send('reject', null), 'e': startEdit,
                         'Escape': backToAnswer});
  }
  const act = keys[e.key];
  if (act) { e.preventDefault(); act(); }
});

$('player').addEventListener('timeupdate', updateClock);
$('player').addEventListener('seeked', updateClock);
$('player').addEventListener('error', async () => {
  const url = item && item.video_url, why = url ? await videoTrouble(url) : '';
  if (!item || item.video_url !== url) return;  // the page moved on to another item meanwhile
  $('videonote').textContent = why; show('videonote', true);
});
function updateClock() {
  const t = $('player').currentTime;
  $('clock').textContent = t.toFixed(2) + ' s';
  $('frame').textContent = item ? Math.round(t * (item.fps || 25)) : 0;
}
$('yes').onclick = () => choose('yes'); $('no').onclick = () => choose('no');
$('accept').onclick = () => send('accept', null); $('reject').onclick = () => send('reject', null);
$('edit').onclick = startEdit; $('back').onclick = backToAnswer;
$('save').onclick = () => send('edit', $('edited').value);
$('rename').onclick = (e) => { e.preventDefault(); askName(); };
$('start').onclick = () => {
  const name = $('name').value.trim();
  if (!name) return;
  annotator = name; localStorage.setItem('fingereval-annotator', name); begin();
};
$('name').addEventListener('keydown', (e) => { if (e.key === 'Enter') $('start').click(); });
function askName() { show('work', false); show('finished', false); show('namebox', true); $('name').focus(); }
function begin() { show('namebox', false); $('who').textContent = annotator; load(); }
whoami().then((me) => {
  if (me.name) { named = true; annotator = me.name; show('rename', false); }
  if (me.role !== 'adjudicator') show('adjudicatelink', false);
  annotator ? begin() : askName();
});
"""

ADJUDICATE_BODY = """
<header><h1>fingereval adjudicate</h1>
  <span>adjudicator <input id="judge" size="12"></span><a href="/">annotate</a>
  <span id="count"></span>""" + LOGOUT + """</header>
<p id="notallowed" class="panel note hidden" style="margin:18px"></p>
<div id="list" style="padding:18px"></div>
<template id="card"><div class="panel" style="margin-bottom:18px">
  <main style="padding:0"><div><img class="condimage hidden" alt="the image the video was generated from"
    style="max-width:100%;max-height:24vh"><video controls preload="metadata" muted></video></div>
  <div><div class="muted prompt"></div><div class="question"></div><table class="labels"></table>
    <div class="reasonline muted"></div>
    <div><button class="yes">yes</button><button class="no">no</button>
      <select class="verdict"><option value="">reason: annotators decide</option><option>accept</option>
        <option>reject</option><option>edit</option></select></div>
    <textarea class="edited hidden"></textarea><button class="decide">decide</button>
    <span class="result muted"></span></div></main></div></template>
"""

ADJUDICATE_SCRIPT = """
let named = false;  // the users file names you
$('judge').value = localStorage.getItem('fingereval-annotator') || 'adjudicator';
async function refresh() {
  const r = await api('/api/disagreements');
  if (!r.ok) { $('notallowed').textContent = await problem(r); show('notallowed', true); return; }
  const items = await r.json();
  $('count').textContent = items.length + ' disagreements';
  $('list').replaceChildren(...items.map(card));
}
function cell(row, text) { const td = document.createElement('td'); td.textContent = text; row.appendChild(td); }
function card(d) {
  const node = $('card').content.firstElementChild.cloneNode(true);
  const q = (s) => node.querySelector(s);
  q('video').src = d.item.video_url;
  if (d.item.image_url) { q('.condimage').src = d.item.image_url; q('.condimage').classList.remove('hidden'); }
  q('video').addEventListener('error', async () => { q('.result').textContent = await videoTrouble(d.item.video_url); });
  q('.prompt').textContent = d.item.prompt + '  [' + d.item.dimension + (d.item.entity ? ', ' + d.item.entity : '') + ']';
  q('.question').textContent = d.item.question;
  for (const l of d.labels) {
    const row = document.createElement('tr');
    cell(row, l.annotator); cell(row, l.answer); cell(row, l.reason_verdict || ''); cell(row, l.reason || '');
    q('.labels').appendChild(row);
  }
  q('.reasonline').textContent = d.item.reason ? 'reason: ' + d.item.reason : 'no reason to check';
  if (!d.item.reason) q('.verdict').classList.add('hidden');
  let answer = null;
  for (const v of ['yes', 'no']) q('.' + v).onclick = () => {
    answer = v; q('.yes').classList.toggle('chosen', v === 'yes'); q('.no').classList.toggle('chosen', v === 'no'); };
  q('.verdict').onchange = () => { q('.edited').classList.toggle('hidden', q('.verdict').value !== 'edit');
                                   q('.edited').value = d.item.reason || ''; };
  q('.decide').onclick = async () => {
    if (!answer) { q('.result').textContent = 'choose yes or no first'; return; }
    const verdict = q('.verdict').value || null;
    const body = {item_id: d.item.item_id, answer, reason_verdict: verdict, reason: verdict === 'edit' ? q('.edited').value : null};
    if (!named) body.adjudicator = $('judge').value || 'adjudicator';
    const r = await api('/api/adjudications', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify(body)});
    if (r.ok) refresh(); else q('.result').textContent = 'not saved (' + r.status + '): ' + await problem(r);
  };
  return node;
}
whoami().then((me) => {
  if (me.name) { named = true; $('judge').value = me.name; $('judge').readOnly = true; }
  refresh();
});
"""


def _page(title: str, body: str, script: str = "") -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><style>{STYLE}</style></head>"
            f"<body>{body}<script>{script}</script></body></html>")


def annotate_page() -> str:
    return _page("fingereval annotate", ANNOTATE_BODY, COMMON_SCRIPT + ANNOTATE_SCRIPT)


def adjudicate_page() -> str:
    return _page("fingereval adjudicate", ADJUDICATE_BODY, COMMON_SCRIPT + ADJUDICATE_SCRIPT)


def login_page(next_page: str = "/", mode: str = "token", note: str | None = None) -> str:
    """The login form; `note` (plain text) says why it is shown again."""
    message = f"<p class=note id=loginnote>{html.escape(note)}</p>" if note else ""
    whose = ("Your own token, from whoever runs the app (its users file)." if mode == "users" else
             "The token given to <code>fingereval annotate serve --token</code>.")
    body = (f"<div class=panel style='margin:40px auto;max-width:380px'><h2>fingereval annotate</h2>{message}"
            "<form method=post action=/login><label>Token <input type=password name=token id=token "
            f"autocomplete=current-password autofocus></label><input type=hidden name=next value='{html.escape(next_page)}'>"
            f" <button type=submit id=login>log in</button></form><p class=muted>{whose}</p></div>")
    return _page("log in: fingereval annotate", body)
