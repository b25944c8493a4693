/**
 * The console's HTML shell and stylesheet. The shell carries no data and no inline script: the
 * page's script is `/_local/console.js` (built from client.ts), which fetches everything with
 * the admin key and builds the DOM with `textContent`, so nothing an agent sent is ever parsed
 * as HTML (email previews go into a sandboxed `srcdoc` frame without scripts).
 */
export function consoleHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<meta name="referrer" content="no-referrer">
<title>Countersign · local console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/_local/console.css">
<script src="/_local/console.js" defer></script>
</head>
<body>
<header class="top">
  <div class="top-inner">
    <a class="brand" href="#/intents"><span class="mark" aria-hidden="true">✓</span>Countersign <span class="tag">local console</span></a>
    <nav id="nav" class="nav" hidden>
      <a href="#/intents" data-route="intents">Intents</a>
      <a href="#/outbox" data-route="outbox">Outbox</a>
    </nav>
    <div class="top-right">
      <span id="live" class="live" hidden></span>
      <button id="signout" class="link-button" type="button" hidden>Forget key</button>
    </div>
  </div>
</header>
<main id="app" class="wrap">
  <noscript><div class="card">The console needs JavaScript. Everything it shows is also in the
  API: <code>GET /v1/intents</code> and <code>GET /_local/outbox</code> with the admin key.</div></noscript>
</main>
<div id="toasts" class="toasts" role="status" aria-live="polite"></div>
<dialog id="dialog" class="dialog"></dialog>
</body>
</html>
`;
}

export const CONSOLE_CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c1e21;--muted:#606770;--line:#e4e6eb;--soft:#f0f2f5;
--blue:#1a56db;--green:#1f8b4c;--red:#c62828;--amber:#b25e09;--radius:10px}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--ink);font-size:15px;line-height:1.45}
a{color:var(--blue)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--soft);padding:10px;border-radius:6px;margin:8px 0 0;max-height:420px;overflow:auto}
h1{font-size:21px;margin:6px 0 4px;line-height:1.3;overflow-wrap:anywhere}
h2{font-size:16px;margin:0 0 10px}
.top{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
.top-inner{max-width:1080px;margin:0 auto;padding:10px 16px;display:flex;align-items:center;gap:16px;flex-wrap:wrap}
.brand{display:flex;align-items:center;gap:8px;font-weight:700;color:var(--ink);text-decoration:none}
.mark{display:inline-grid;place-items:center;width:24px;height:24px;border-radius:6px;background:var(--green);color:#fff;font-size:14px}
.tag{font-weight:500;font-size:12px;color:var(--muted);background:var(--soft);padding:2px 8px;border-radius:999px}
.nav{display:flex;gap:4px}
.nav a{padding:6px 12px;border-radius:8px;text-decoration:none;color:var(--muted);font-weight:600}
.nav a[aria-current="page"]{background:var(--soft);color:var(--ink)}
.top-right{margin-left:auto;display:flex;align-items:center;gap:12px;font-size:13px;color:var(--muted)}
@media (max-width:620px){.top-inner{gap:6px 12px;padding:8px 12px}.nav{order:3;width:100%}.wrap{padding:12px}}
.live::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--green);margin-right:6px;vertical-align:1px}
.live.down::before{background:var(--red)}
.wrap{max-width:1080px;margin:0 auto;padding:16px}
.card{background:var(--card);border-radius:var(--radius);padding:16px;margin:0 0 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.muted{color:var(--muted)} .small{font-size:13px}
.toolbar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 0 14px}
.toolbar .title{font-size:19px;font-weight:700;margin:0 auto 0 0}
.chip{border:1px solid var(--line);background:#fff;color:var(--ink);padding:6px 12px;border-radius:999px;font:inherit;font-size:13px;cursor:pointer}
.chip[aria-pressed="true"]{background:var(--ink);border-color:var(--ink);color:#fff}
.pill{display:inline-block;font-size:12px;font-weight:700;padding:2px 9px;border-radius:999px;white-space:nowrap;text-transform:uppercase;letter-spacing:.02em}
.s-pending{background:#fff4e5;color:var(--amber)} .s-approved{background:#e7f6ec;color:var(--green)}
.s-rejected{background:#fdecea;color:var(--red)} .s-timed_out{background:#ede7f6;color:#5e35b1}
.s-cancelled{background:var(--soft);color:var(--muted)}
.list{display:flex;flex-direction:column;gap:8px}
.row{display:grid;grid-template-columns:1fr;gap:4px 16px;background:#fff;border-radius:var(--radius);padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08);color:inherit;text-decoration:none;border:1px solid transparent}
.row:hover,.row:focus-visible{border-color:#c9ced6}
.row .summary{font-weight:600;overflow-wrap:anywhere}
.row .cell{font-size:13px;color:var(--muted);overflow-wrap:anywhere}
.row .cell b{font-weight:600;color:var(--ink)}
.row .label{display:inline}
.head{display:none}
@media (min-width:820px){
  .row,.head{grid-template-columns:110px minmax(0,1fr) 220px 170px;align-items:center}
  .head{display:grid;gap:16px;padding:0 16px;font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
  .row .label{display:none}
}
.empty{text-align:center;padding:32px 16px;color:var(--muted)}
.grid{display:grid;grid-template-columns:1fr;gap:14px}
@media (min-width:980px){.grid.detail{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;margin:12px 0 0;font-size:14px}
dl.facts dt{color:var(--muted)} dl.facts dd{margin:0;overflow-wrap:anywhere}
.back{display:inline-block;margin:0 0 10px;text-decoration:none;font-weight:600}
.trail{list-style:none;margin:0;padding:0}
.trail li{border-left:2px solid var(--line);padding:0 0 12px 14px;position:relative}
.trail li::before{content:"";position:absolute;left:-6px;top:5px;width:10px;height:10px;border-radius:50%;background:#fff;border:2px solid #9aa3ae}
.trail li.final::before{background:var(--ink);border-color:var(--ink)}
.trail .what{font-weight:600} .trail .meta{font-size:13px;color:var(--muted);overflow-wrap:anywhere}
.trail pre{margin-top:4px;font-size:12px;padding:6px 8px}
.msg{border:1px solid var(--line);border-radius:var(--radius);background:#fff;padding:12px 14px;margin:0 0 10px}
.msg-head{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:center;font-size:13px;color:var(--muted)}
.msg-subject{font-weight:600;margin:6px 0;overflow-wrap:anywhere}
.badge{font-size:12px;font-weight:700;padding:2px 8px;border-radius:6px;background:var(--soft);color:var(--ink)}
.b-email{background:#e8f0fe;color:#1a56db} .b-slack{background:#f3e8fd;color:#611f69} .b-webhook{background:#e6f4f1;color:#0b6e5c}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 0;align-items:center}
.button{display:inline-block;border:0;border-radius:8px;padding:9px 14px;font:inherit;font-weight:600;cursor:pointer;text-decoration:none;background:var(--soft);color:var(--ink);border:1px solid var(--line)}
.button.primary{background:var(--blue);color:#fff;border-color:var(--blue)}
.button.approve{background:var(--green);color:#fff;border-color:var(--green)}
.button.reject{background:#fff;color:var(--red);border-color:#e0b4b4}
.button:disabled{opacity:.55;cursor:default}
.link-button{background:none;border:0;color:var(--blue);font:inherit;cursor:pointer;padding:0}
details{margin:8px 0 0} summary{cursor:pointer;font-size:14px;color:var(--blue)}
iframe.preview{width:100%;height:340px;border:1px solid var(--line);border-radius:8px;background:#fff;margin-top:8px}
.slack{border-left:4px solid #611f69;padding:4px 0 4px 12px;margin:8px 0 0}
.slack .s-header{font-weight:800;font-size:16px;margin:4px 0}
.slack .s-section{margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}
.slack .s-fields{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:6px 16px;margin:6px 0}
.slack .s-context{font-size:13px;color:var(--muted);margin:6px 0;white-space:pre-wrap}
.slack blockquote{border-left:3px solid var(--line);margin:4px 0;padding-left:8px;color:var(--muted)}
.slack hr{border:0;border-top:1px solid var(--line)}
.mention{background:#fff3c4;border-radius:3px;padding:0 2px}
.clickas{display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:13px;color:var(--muted);margin-top:8px}
input[type=email],input[type=password],textarea{font:inherit;padding:9px 10px;border-radius:8px;border:1px solid #ccd0d5;background:#fff;color:var(--ink);width:100%}
.clickas input{width:auto;flex:1;min-width:180px;padding:6px 8px}
textarea{min-height:96px}
label{font-weight:600;display:block;margin:0 0 6px}
.signin{max-width:460px;margin:40px auto}
.signin p{color:var(--muted);font-size:14px}
.error{color:var(--red);font-size:14px;margin:8px 0 0}
.toasts{position:fixed;bottom:16px;left:50%;transform:translateX(-50%);display:flex;flex-direction:column;gap:8px;width:min(520px,calc(100% - 24px));z-index:20}
.toast{background:var(--ink);color:#fff;padding:10px 14px;border-radius:8px;box-shadow:0 4px 14px rgba(0,0,0,.2);font-size:14px;overflow-wrap:anywhere}
.toast.err{background:var(--red)}
.dialog{border:0;border-radius:12px;padding:0;width:min(480px,calc(100% - 24px));box-shadow:0 12px 40px rgba(0,0,0,.3)}
.dialog::backdrop{background:rgba(28,30,33,.45)}
.dialog .d-head{padding:14px 16px;border-bottom:1px solid var(--line);font-weight:700;font-size:17px}
.dialog .d-body{padding:14px 16px}
.dialog .d-foot{padding:12px 16px;border-top:1px solid var(--line);display:flex;justify-content:flex-end;gap:8px}
.dialog .hint{font-size:13px;color:var(--muted);margin:6px 0 0}
.note{font-size:13px;color:var(--muted);margin:10px 0 0}
`;
