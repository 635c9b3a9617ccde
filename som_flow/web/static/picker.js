// The customer/job picker: a text input with a <datalist> that fills as you type from /lookup/customers.
// Without JS the input still works: the server reads a typed name (or "· #id") and says if none or several match.
(function () {
  function fill(list, rows) {
    list.replaceChildren.apply(list, rows.map(function (row) {
      const option = document.createElement('option');
      option.value = row.label;
      return option;
    }));
  }
  function pickedId(text) {
    const m = /#(\d+)\s*$/.exec(text || '');
    return m ? m[1] : null;
  }
  document.querySelectorAll('input[data-lookup]').forEach(function (input) {
    const list = document.getElementById(input.dataset.list);
    const form = input.form;
    let timer = null;
    function query() {
      if (input.dataset.lookup === 'jobs') {
        const customer = form.querySelector('input[data-lookup="customers"]');
        const id = (customer && pickedId(customer.value)) || input.dataset.customer;
        return id ? 'parent=' + encodeURIComponent(id) : null;
      }
      return input.value.trim().length >= 1 ? 'q=' + encodeURIComponent(input.value.trim()) : null;
    }
    function refresh() {
      const q = query();
      if (!q) return;
      fetch('/lookup/customers?' + q, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (rows) { fill(list, rows); })
        .catch(function () {});
    }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
    input.addEventListener('focus', refresh);
  });
})();
