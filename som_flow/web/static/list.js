// Search as you type: fetch the filtered list (first page) and swap the table body, count, pager and the bulk
// "all matching" count; the URL follows, so the bulk form (which posts to it) acts on what is shown. The form
// still works without JS.
(function () {
  const form = document.getElementById('list-filters');
  const search = document.getElementById('list-search');
  if (!form || !search) return;
  let timer = null;
  let latest = 0;
  function refresh() {
    const url = form.action + '?' + new URLSearchParams(new FormData(form)).toString();
    const mine = ++latest;
    fetch(url, {headers: {'Accept': 'text/html'}}).then(function (r) { return r.text(); }).then(function (html) {
      if (mine !== latest) return; // a newer keystroke won
      const doc = new DOMParser().parseFromString(html, 'text/html');
      ['#opportunity-list tbody', '#list-count', '#list-pager', '#bulk-all'].forEach(function (sel) {
        const fresh = doc.querySelector(sel);
        const here = document.querySelector(sel);
        if (fresh && here) here.replaceWith(fresh);
      });
      history.replaceState(null, '', url);
    });
  }
  search.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  form.querySelectorAll('select, input[type=date]').forEach(function (el) { el.addEventListener('change', refresh); });
})();

// Right-click on a row opens its "⋯" menu (the quick actions); opening one menu closes the others.
(function () {
  const table = document.getElementById('opportunity-list');
  if (!table) return;
  function closeOthers(keep) {
    table.querySelectorAll('details.row-menu[open]').forEach(function (d) { if (d !== keep) d.open = false; });
  }
  table.addEventListener('contextmenu', function (e) {
    const row = e.target.closest('tbody tr');
    const menu = row && row.querySelector('details.row-menu');
    if (!menu || e.target.closest('a, input, select, button')) return; // links keep the browser's own menu
    e.preventDefault();
    closeOthers(menu);
    menu.open = true;
    menu.querySelector('summary').focus();
  });
  table.addEventListener('toggle', function (e) { if (e.target.open) closeOthers(e.target); }, true);
})();
