() => {
  // Projector mode: from ?projector=1 at load, and from the checkbox (window.pgProjector). It forces
  // the light theme (dark slides wash out on a projector) and gives the visitor's dark theme back
  // when it is switched off.
  const body = document.body;
  window.pgProjector = (on) => {
    if (on) {
      if (body.classList.contains('dark')) body.dataset.pgDark = '1';
      body.classList.remove('dark');
    } else if (body.dataset.pgDark) {
      body.classList.add('dark');
      delete body.dataset.pgDark;
    }
    body.classList.toggle('projector', !!on);
  };
  // Token spellings as text under each token (the "Show token spellings" box).
  window.pgSpellings = (on) => body.classList.toggle('pg-spellings', !!on);
  const asked = new URLSearchParams(window.location.search).get('projector');
  if (['1', 'true', 'yes', 'on'].includes((asked || '').toLowerCase())) window.pgProjector(true);

  // When a run's results arrive, the view the preset opened is scrolled into view, once per run.
  // Results whose prompt has been edited since are dimmed, with the prompt they are for.
  let scrolledFor = null;
  let whyFor = null;
  const promptBox = () => document.querySelector('#pg-prompt textarea');
  const statusOf = () => document.querySelector('#pg-run-status .pg-status');
  const markStale = () => {
    const results = document.getElementById('pg-results');
    const status = statusOf();
    const box = promptBox();
    if (!results || !status || !box) return;
    const phase = status.dataset.phase;
    const stale = ['finished', 'stopped', 'failed'].includes(phase) && status.dataset.prompt !== box.value;
    results.classList.toggle('pg-stale', stale);
    let note = document.getElementById('pg-stale-note');
    if (stale && !note) {
      note = document.createElement('div');
      note.id = 'pg-stale-note';
      note.className = 'pg-stale-note';
      note.setAttribute('role', 'status');
      results.parentElement.insertBefore(note, results);
    }
    if (note) {
      // Only real changes: the observer below sees every change of the page, this one included.
      const text = stale ? `These results are for an earlier prompt: “${status.dataset.prompt}”. Press Run for the new one.` : '';
      if (note.hidden !== !stale) note.hidden = !stale;
      if (note.textContent !== text) note.textContent = text;
    }
  };
  const follow = () => {
    const status = statusOf();
    if (!status) return;
    const phase = status.dataset.phase;
    if (phase === 'loading' || phase === 'idle') scrolledFor = null;
    const arrived = ['running', 'finished', 'stopped', 'failed'].includes(phase);
    // Not while the visitor is using another control (a preset picker open mid-run would jump away).
    const focus = document.activeElement;
    const free = !focus || focus === document.body || focus.closest('#pg-run, #pg-results');
    if (arrived && scrolledFor === null && free) {
      scrolledFor = status.dataset.prompt;
      const results = document.getElementById('pg-results');
      if (results) results.scrollIntoView({ behavior: 'instant', block: 'start' });
    }
    // When the run ends, "why they differ" arrives above the outputs and pushes them down: the
    // page then starts at the tabs (the notes were read during the run), so the causes and the
    // first outputs share the screen. Once per run, only on the Outputs tab, and not while the
    // visitor is using another control.
    const why = document.querySelector('#pg-why .pg-why-differ');
    if (phase === 'finished' && whyFor !== scrolledFor && free && why && why.offsetParent !== null) {
      whyFor = scrolledFor;
      (why.closest('.tabs') || why).scrollIntoView({ behavior: 'instant', block: 'start' });
    }
    markStale();
  };
  new MutationObserver(follow).observe(document.body, { subtree: true, childList: true, characterData: true });
  document.addEventListener('input', (event) => {
    if (event.target === promptBox()) markStale();
  });
}
