// Tabs (WAI-ARIA tabs pattern): click or arrow keys switch; the URL hash (#history) opens a tab and is kept on switch.
// Without JS every panel stays visible. Also opens a flagged customer's pop-up note once the page loads.
(function () {
  document.querySelectorAll('[role="tablist"]').forEach(function (list) {
    const tabs = Array.from(list.querySelectorAll('[role="tab"]'));
    function panel(tab) { return document.getElementById(tab.getAttribute('aria-controls')); }
    function select(tab, focus) {
      tabs.forEach(function (t) {
        const on = t === tab;
        t.setAttribute('aria-selected', on ? 'true' : 'false');
        t.tabIndex = on ? 0 : -1;
        panel(t).hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener('click', function () {
        select(tab, false);
        history.replaceState(null, '', '#' + tab.id.replace(/^tab-/, ''));
      });
      tab.addEventListener('keydown', function (e) {
        const moves = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1};
        if (!(e.key in moves)) return;
        e.preventDefault();
        const next = tabs[(moves[e.key] + tabs.length) % tabs.length];
        select(next, true);
        history.replaceState(null, '', '#' + next.id.replace(/^tab-/, ''));
      });
    });
    const wanted = document.getElementById('tab-' + window.location.hash.slice(1));
    select(tabs.indexOf(wanted) >= 0 ? wanted : tabs[0], false);
  });

  const note = document.getElementById('popup-note');
  if (note && typeof note.showModal === 'function') note.showModal();
})();
