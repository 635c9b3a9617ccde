// Search as you type: fetch the filtered list and swap the table body and count; the form still works without JS.
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
      ['#opportunity-list tbody', '#list-count'].forEach(function (sel) {
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
