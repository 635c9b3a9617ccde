// Search as you type: fetch the filtered list (first page) and swap the table body, count, pager and the bulk
// "all matching" count; the URL follows, so the bulk form (which posts to it) acts on what is shown and the row
// menus' actions come back to it. The form still works without JS.
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
      // the shared row form and "Mark lost" dialog come back to the list now shown
      ['#row-action', '#lose-dialog form'].forEach(function (sel) {
        const fresh = doc.querySelector(sel), here = document.querySelector(sel);
        if (fresh && here) here.elements.next.value = fresh.elements.next.value;
      });
      history.replaceState(null, '', url);
      document.dispatchEvent(new CustomEvent('list:rows'));
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

// "Mark lost": every row's item opens one shared dialog (opportunities.html) for that row's deal; Escape or Cancel
// closes it and focus goes back to the item. Without scripts each is a link to the deal page's own "Mark lost",
// which comes back to the list.
(function () {
  const dialog = document.getElementById('lose-dialog');
  if (!dialog) return;
  const form = dialog.querySelector('form');
  const title = document.getElementById('lose-title');
  let opener = null;
  function buttons() {
    document.querySelectorAll('#opportunity-list a.lose-open').forEach(function (link) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'lose-open';
      button.setAttribute('aria-haspopup', 'dialog');
      button.textContent = link.textContent;
      link.replaceWith(button);
    });
  }
  buttons();
  document.addEventListener('list:rows', buttons);
  document.addEventListener('click', function (e) {
    const button = e.target.closest('button.lose-open');
    if (!button) return;
    const row = button.closest('tr');
    opener = button;
    form.reset();
    form.action = dialog.dataset.action.replace('{id}', row.dataset.id);
    title.textContent = dialog.dataset.title.replace('{number}', row.dataset.number);
    dialog.showModal();
  });
  dialog.addEventListener('close', function () { if (opener && opener.isConnected) opener.focus(); });
})();
