"""The page's style sheet, for Gradio's ``launch(css=...)``: plain CSS, no Gradio here.

Colours come from the views (each model's slot colour arrives as ``--pg-accent``), sizes from
the theme's ``--text-*`` variables, so projector mode scales every view by changing those.
"""

# The projector rules hang off a `projector` class on <body> (set by the checkbox or ?projector=1):
# larger type through the theme's size variables, black on white, thicker borders. Gradio copies
# every rule under a `.gradio-container .contain` prefix, which outranks a `body.projector` rule,
# hence the !important on the projector's own overrides.
CSS = """
.pg-dot { display:inline-block; width:.8em; height:.8em; border-radius:50%; background:var(--pg-accent);
  margin-right:.4em; vertical-align:middle; }
.pg-empty, .pg-placeholder { color:var(--body-text-color-subdued); font-style:italic; }
.pg-facts table { border-collapse:collapse; width:100%; font-size:var(--text-md); }
.pg-facts th, .pg-facts td { border:1px solid var(--border-color-primary); padding:.3em .6em; text-align:left;
  vertical-align:top; }
.pg-facts thead th { border-bottom:3px solid var(--pg-accent, var(--border-color-primary)); }
.pg-facts tbody th { font-weight:600; white-space:nowrap; }
.pg-differs { background:#fff3b0; color:#111; font-weight:600; }
.pg-differs-flag { color:#b45309; font-weight:700; }
.pg-missing { color:var(--body-text-color-subdued); font-style:italic; }
.pg-legend-line { font-size:var(--text-sm); margin:.3em 0 0; }
.pg-col { border:2px solid var(--pg-accent); border-radius:10px; padding:.6em .8em; min-height:8em;
  background:var(--background-fill-primary); }
.pg-col-head { display:flex; align-items:center; gap:.4em; font-weight:700; font-size:var(--text-lg); }
.pg-model { flex:1; overflow-wrap:anywhere; line-height:1.2; }
.pg-badge { border-radius:999px; padding:.1em .7em; font-size:var(--text-sm); font-weight:700; color:#fff;
  text-transform:uppercase; letter-spacing:.03em; }
.pg-badge-idle { background:#6b7280; } .pg-badge-loading { background:#92400e; }
.pg-badge-running { background:#1d4ed8; animation:pg-pulse 1.2s ease-in-out infinite; }
.pg-badge-done { background:#047857; } .pg-badge-error { background:#b91c1c; }
@keyframes pg-pulse { 50% { opacity:.55; } }
.pg-kind, .pg-stats, .pg-progress { color:var(--body-text-color-subdued); font-size:var(--text-sm); margin:.2em 0; }
.pg-output { white-space:pre-wrap; font-size:var(--text-lg); line-height:1.45; margin:.5em 0; overflow-wrap:anywhere; }
.pg-cursor { animation:pg-pulse .8s steps(1) infinite; }
.pg-error { background:#fee2e2; color:#7f1d1d; border-left:5px solid #b91c1c; padding:.5em .7em; margin:.5em 0;
  font-weight:600; overflow-wrap:anywhere; }
.pg-note { background:#e0f2fe; color:#0c4a6e; padding:.4em .6em; margin:.4em 0; border-radius:6px;
  font-size:var(--text-sm); }
.pg-prompt summary { cursor:pointer; font-size:var(--text-sm); }
.pg-prompt pre { max-height:9em; overflow-y:auto; white-space:pre-wrap; font-size:var(--text-sm);
  background:var(--background-fill-secondary); padding:.5em; border-radius:6px; overflow-wrap:anywhere; }
.pg-small { border-collapse:collapse; margin:.4em 0; font-size:var(--text-sm); }
.pg-small td, .pg-small th { border:1px solid var(--border-color-primary); padding:.1em .5em; }
.pg-small caption { text-align:left; font-weight:600; }
.pg-sentences { font-size:var(--text-sm); margin:.2em 0; }
/* width 0 with min-width 100%: a wide table scrolls inside its tab instead of widening the page */
.pg-metrics { overflow-x:auto; width:0; min-width:100%; }
.pg-metrics table { border-collapse:collapse; width:100%; font-size:var(--text-md); font-variant-numeric:tabular-nums; }
.pg-metrics th, .pg-metrics td { border-bottom:1px solid var(--border-color-primary); padding:.35em .5em; }
.pg-metrics thead th { text-align:right; vertical-align:bottom; font-weight:600; word-break:normal;
  overflow-wrap:normal; hyphens:none; }
.pg-metrics thead th:first-child { text-align:left; }
.pg-metrics tbody th { text-align:left; white-space:nowrap; }
.pg-metrics td { text-align:right; white-space:nowrap; }
.pg-unit { display:block; font-weight:400; color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-na { color:var(--body-text-color-subdued); cursor:help; }
.pg-metrics td.pg-left { text-align:left; }
.pg-charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(340px, 1fr)); gap:.8em; }
.pg-chart { margin:0; border:1px solid var(--border-color-primary); border-radius:8px; padding:.5em .7em; }
.pg-chart figcaption { margin-bottom:.4em; font-size:var(--text-md); }
.pg-chart figcaption span { color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-bar-row { display:grid; grid-template-columns:minmax(6em, 30%) 1fr auto; align-items:center; gap:.5em;
  margin:.25em 0; font-size:var(--text-md); }
.pg-bar-name { overflow-wrap:anywhere; line-height:1.15; }
.pg-bar-track { background:var(--background-fill-secondary); border-radius:4px; height:1.2em; }
.pg-bar { display:block; height:100%; background:var(--pg-accent); border-radius:4px; }
.pg-bar-value { font-weight:700; font-variant-numeric:tabular-nums; white-space:nowrap; }
.pg-bar-none { grid-column:2 / span 2; color:var(--body-text-color-subdued); font-style:italic;
  font-size:var(--text-sm); }
.pg-name { white-space:nowrap; font-weight:600; }
.pg-legend, .pg-why { font-size:var(--text-sm); margin:.3em 0 .5em; }
.pg-why { background:#eef6ff; color:#0c2d48; border-left:5px solid #0072B2; padding:.5em .7em; border-radius:4px; }
.pg-warn { background:#fff4e5; color:#5c2c00; border-left:5px solid #D55E00; padding:.4em .7em;
  font-size:var(--text-sm); }
.pg-ok { color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-scale { display:inline-block; width:8em; height:.9em; vertical-align:middle; border:1px solid #999; }
/* Aligned token rows: one block per stretch of text, one cell per model; blocks wrap together. */
.pg-rows-legend { font-size:var(--text-sm); margin:.3em 0; display:flex; gap:1em; flex-wrap:wrap; }
.pg-grid { display:flex; flex-wrap:wrap; align-items:flex-start; row-gap:.7em; margin:.4em 0 .6em;
  font-size:var(--text-lg); line-height:1.25; }
.pg-blk { display:inline-flex; flex-direction:column; gap:3px; }
.pg-cell { white-space:pre; color:#111; padding:.08em 0; border:2px solid transparent; border-left-width:2px;
  border-right-width:2px; background:#f3f4f6; min-height:1.3em; }
.pg-t0 { background:color-mix(in srgb, var(--pg-accent) 16%, white); }
.pg-t1 { background:color-mix(in srgb, var(--pg-accent) 36%, white); }
.pg-start { border-left-color:#222; border-top-left-radius:5px; border-bottom-left-radius:5px; }
.pg-end { border-right-color:#222; border-top-right-radius:5px; border-bottom-right-radius:5px; }
.pg-multi { border-style:dashed; }
.pg-uncovered { background:repeating-linear-gradient(45deg, #e5e7eb 0 4px, #fff 4px 8px); color:#555; }
.pg-break { flex-basis:100%; height:0; }
/* Stripes as background images, so they run on under the cells' transparent side borders. */
.pg-hot { background-image:linear-gradient(#1d4ed8, #1d4ed8), linear-gradient(#1d4ed8, #1d4ed8);
  background-size:100% 4px; background-position:top, bottom; background-repeat:no-repeat;
  background-origin:border-box; }
.pg-hot-tag { display:inline-block; min-width:1.4em; text-align:center; border-radius:50%; background:#1d4ed8;
  color:#fff; font-size:var(--text-sm); }
.pg-counts, .pg-hot-table, .pg-cost table, .pg-cands { border-collapse:collapse; font-size:var(--text-md);
  font-variant-numeric:tabular-nums; margin:.4em 0; }
.pg-counts th, .pg-counts td, .pg-hot-table th, .pg-hot-table td, .pg-cost th, .pg-cost td, .pg-cands th, .pg-cands td {
  border-bottom:1px solid var(--border-color-primary); padding:.2em .6em; text-align:right; }
.pg-counts th:first-child, .pg-hot-table th:first-child, .pg-cost th:first-child, .pg-cands td:first-child,
.pg-cands th:first-child { text-align:left; }
.pg-counts thead th, .pg-cost thead th, .pg-cands thead th { font-weight:600; vertical-align:bottom; }
.pg-counts small, .pg-cost small { display:block; font-weight:400; color:var(--body-text-color-subdued); }
.pg-hot-table caption { text-align:left; font-weight:600; font-size:var(--text-md); }
.pg-bucket-row { margin:.25em 0; display:flex; flex-wrap:wrap; gap:.4em; align-items:center; font-size:var(--text-sm); }
.pg-bucket { color:#111; border-radius:4px; padding:.05em .5em; }
.pg-surprise h4 { margin:.8em 0 .2em; }
/* Size against quality. */
.pg-size-panels { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:.8em; }
.pg-size-panel { margin:0; border:1px solid var(--border-color-primary); border-radius:8px; padding:.4em .6em; }
.pg-size-panel figcaption { font-size:var(--text-md); }
.pg-size-panel figcaption span { color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-size-panel svg { width:100%; height:auto; display:block; }
.pg-size-panel .pg-axis { stroke:var(--body-text-color); stroke-width:1.5; }
.pg-size-panel .pg-trend { fill:none; stroke:#888; stroke-width:2; stroke-dasharray:6 4; }
.pg-size-panel text { fill:var(--body-text-color); font-size:15px; }
.pg-size-panel .pg-point { font-weight:700; font-size:17px; }
.pg-size-names { display:flex; flex-wrap:wrap; gap:.8em; font-size:var(--text-sm); }
/* Lecture-table tasks inside a column. */
.pg-sees { font-size:var(--text-sm); background:var(--background-fill-secondary); border-radius:6px; padding:.3em .5em;
  margin:.3em 0; line-height:1.35; }
.pg-task { margin:.5em 0; }
.pg-task-title { font-size:var(--text-sm); font-weight:600; color:var(--body-text-color-subdued); margin-bottom:.3em; }
.pg-label-row { display:grid; grid-template-columns:minmax(5em, 35%) 1fr auto; gap:.5em; align-items:center;
  font-size:var(--text-md); margin:.2em 0; }
.pg-marked { font-size:var(--text-lg); line-height:1.9; white-space:pre-wrap; overflow-wrap:anywhere; }
.pg-ent { color:#111; border-radius:5px; padding:.1em .3em; white-space:nowrap; }
.pg-ent-type { font-size:.6em; font-weight:700; margin-left:.35em; vertical-align:middle; color:#333; }
.pg-answer { background:#86efac; color:#111; font-weight:700; border-radius:4px; padding:.05em .2em; }
.pg-guess { background:transparent; color:inherit; outline:2px dashed #b45309; border-radius:4px; }
.pg-verdict { font-size:var(--text-md); margin:.2em 0; }
.pg-question { font-style:italic; font-size:var(--text-md); }
.pg-model-input { white-space:pre-wrap; overflow-wrap:anywhere; font-size:var(--text-sm);
  background:var(--background-fill-secondary); padding:.4em; border-radius:6px; margin:.2em 0; }
/* The next token. */
.pg-next-where { font-size:var(--text-sm); }
.pg-caret-text { font-size:var(--text-lg); margin:.2em 0 .4em; white-space:pre-wrap; overflow-wrap:anywhere; }
.pg-caret { color:#D55E00; font-weight:700; animation:pg-pulse 1s steps(1) infinite; }
.pg-after { color:var(--body-text-color-subdued); opacity:.55; }
.pg-next-grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(340px, 1fr)); gap:.8em; }
.pg-next { border:2px solid var(--pg-accent); border-radius:10px; padding:.4em .6em; }
.pg-next-head { display:flex; flex-wrap:wrap; gap:.6em; align-items:baseline; font-size:var(--text-md); }
.pg-next-context { color:var(--body-text-color-subdued); font-size:var(--text-sm); }
.pg-cands { width:100%; }
.pg-cand-token { font-family:var(--font-mono); white-space:pre; font-weight:600; }
.pg-cand-bar { width:40%; }
.pg-cand-bar > span:last-child { font-size:var(--text-sm); }
.pg-cand-bar .pg-bar-track { display:block; }
.pg-cand.pg-cut td, .pg-cut-key { background:repeating-linear-gradient(135deg, #d4d4d8 0 6px, #ececef 6px 12px);
  color:#555; }
.pg-cand.pg-cut .pg-bar { background:#9ca3af; }
.pg-next-summary { font-size:var(--text-sm); margin:.2em 0; }
.pg-cands td { padding-top:.05em; padding-bottom:.05em; }
/* Facts and cost; the notes beside the results. */
.pg-training { font-size:var(--text-sm); }
.pg-cost td, .pg-cost thead th { text-align:left; vertical-align:top; }
.pg-cost td b { font-size:var(--text-md); }
#pg-notes { background:#fffbe6; color:#222; border-left:6px solid #E69F00; border-radius:6px; padding:.2em .8em; }
#pg-header h1 { margin:0; }

:root body.projector {
  --text-xxs:14px; --text-xs:16px; --text-sm:19px; --text-md:23px; --text-lg:27px; --text-xl:31px; --text-xxl:38px;
  /* the theme computes these from --text-* on :root, so they are set again here */
  --body-text-size:var(--text-md); --block-info-text-size:var(--text-sm); --block-label-text-size:var(--text-sm);
  --block-title-text-size:var(--text-md); --section-header-text-size:var(--text-md); --input-text-size:var(--text-md);
  --checkbox-label-text-size:var(--text-md); --prose-text-size:var(--text-md); --button-large-text-size:var(--text-lg);
  --button-medium-text-size:var(--text-md); --button-small-text-size:var(--text-sm);
  --body-text-color:#000; --body-text-color-subdued:#222; --block-info-text-color:#222;
  --background-fill-primary:#fff; --background-fill-secondary:#f1f1f1; --body-background-fill:#fff;
  --block-background-fill:#fff; --input-background-fill:#fff; --border-color-primary:#444;
  --block-label-text-color:#000; --block-title-text-color:#000; --table-text-color:#000;
}
body.projector .gradio-container { max-width:100% !important; padding:0 12px !important; }
body.projector .pg-col { border-width:4px !important; }
body.projector .pg-output { font-size:30px !important; line-height:1.35 !important; }
/* On a projector the notes sit above the results at full width, so the columns keep the room. */
body.projector #pg-results { flex-direction:column-reverse !important; }
body.projector #pg-results > * { width:100% !important; min-width:0 !important; }
body.projector #pg-notes { font-size:var(--text-sm) !important; }
body.projector .pg-grid { font-size:30px !important; }
body.projector .pg-start { border-left-color:#000 !important; }
body.projector .pg-end { border-right-color:#000 !important; }
body.projector .pg-size-panel text { font-size:19px !important; }
body.projector .pg-size-panel .pg-point { font-size:22px !important; }
body.projector .pg-next-grid { grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)) !important; }
body.projector .pg-bar-track { background:#ddd !important; height:1.4em !important; }
body.projector .pg-charts { grid-template-columns:repeat(auto-fit, minmax(560px, 1fr)) !important; }
body.projector .pg-differs { background:#ffe14d !important; }
body.projector .pg-facts td, body.projector .pg-facts th { border-color:#000 !important; }
body.projector .pg-metrics th, body.projector .pg-metrics td { font-size:var(--text-sm) !important; }
body.projector .pg-col-head { font-size:var(--text-md) !important; flex-wrap:wrap; }
"""
