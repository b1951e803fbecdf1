package report

// styleTmpl is the one stylesheet of every page relapse writes (index.html
// and ab.html), so a verdict, a badge or a chart looks the same on both.
// Pages include it with {{template "style"}} in their head.
const styleTmpl = `{{define "style"}}<style>
:root { --ok: #15803d; --ok-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2; --muted: #6b7280; --line: #e5e7eb; --head: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 24px 28px 48px; max-width: 1540px; color: #111827; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 17px; margin: 0; font-weight: 650; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
a { color: #1d4ed8; text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
.host { margin: 0 0 16px; color: var(--muted); }
.runs { margin: 0 0 12px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.runs dt { font-weight: 600; }
.runs dd { margin: 0; }
.swatch { display: inline-block; width: 14px; height: 4px; vertical-align: middle; margin-right: 6px; }
.counts { display: inline-block; margin: 6px 0 14px; padding: 4px 12px; border-radius: 6px; font-weight: 600; }
.counts.ok { background: var(--ok-bg); color: var(--ok); }
.counts.bad { background: var(--bad-bg); color: var(--bad); }
.warn { color: #92400e; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #374151; }
td.nowrap { white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.okcell { font-weight: 700; text-align: center; white-space: nowrap; }
td.okcell.ok { background: var(--ok-bg); color: var(--ok); }
td.okcell.bad { background: var(--bad-bg); color: var(--bad); }
tr.regressed td { background: #fff5f5; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 700; }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.verdict { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.verdict.breach { color: #9a3412; border-color: #fdba74; background: #fff7ed; }
.verdict.hold { color: #1e3a8a; border-color: #93c5fd; background: #eff6ff; }
.verdict.inconclusive { color: #4b5563; border-color: #d1d5db; background: #f9fafb; }
.nowrap { white-space: nowrap; }
.name { overflow-wrap: break-word; }
.small { font-size: 12px; }
.files a { margin-right: 8px; overflow-wrap: anywhere; }
td.files { max-width: 180px; }
td.files > a { white-space: nowrap; }
td.files details a { display: block; margin: 2px 0 0; }
td.files summary { cursor: pointer; color: #1d4ed8; white-space: nowrap; }
.tablewrap { max-width: 100%; overflow-x: auto; }
tr.failed td { background: #fff5f5; }
.okmark { color: var(--ok); font-weight: 700; }
.badmark { color: var(--bad); font-weight: 700; }
.overview { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(520px, 100%), 1fr)); gap: 16px; margin: 0 0 28px; }
.incident { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.incident-head { display: flex; align-items: baseline; justify-content: space-between; gap: 10px; flex-wrap: wrap; }
.incident-head h2 { overflow-wrap: anywhere; }
.incident p { margin: 2px 0 6px; }
.incident img { display: block; width: 100%; max-width: 720px; height: auto; margin: 6px auto 0; }
.fold-head { margin: 32px 0 8px; }
details.variant { border-top: 1px solid var(--line); padding: 8px 0; }
details.variant > summary { cursor: pointer; overflow-wrap: anywhere; }
details.variant[open] > summary { margin-bottom: 8px; }
.variant-name { font-weight: 650; }
section.variant, section.pair { margin: 36px 0 0; padding-top: 16px; border-top: 2px solid var(--line); }
.variant-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.facts { margin: 8px 0 12px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.errtext { color: var(--bad); white-space: normal; max-width: 420px; }
.error { background: var(--bad-bg); color: var(--bad); padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; }
.reasons { color: var(--bad); }
table.evals { margin: 4px 0 14px; }
table.evals td { font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 10px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
figure img { display: block; width: 720px; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: var(--muted); padding: 4px 2px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
</style>{{end}}`
