// Drag a card to another stage; the server decides. A refused move snaps back and says why.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById('board-message');
  // the CSP forbids inline handlers, so the kind picker submits from here
  ['kind-picker', 'currency-picker'].forEach(function (id) {
    const picker = document.getElementById(id);
    if (picker) picker.addEventListener('change', function () { picker.form.submit(); });
  });
  let dragged = null;
  document.querySelectorAll('.card-item').forEach(function (card) {
    card.addEventListener('dragstart', function (e) { dragged = card; e.dataTransfer.setData('text/plain', card.dataset.id); });
  });
  document.querySelectorAll('.column').forEach(function (col) {
    col.addEventListener('dragover', function (e) { e.preventDefault(); col.classList.add('over'); });
    col.addEventListener('dragleave', function () { col.classList.remove('over'); });
    col.addEventListener('drop', async function (e) {
      e.preventDefault(); col.classList.remove('over');
      if (!dragged || dragged.parentElement === col) return;
      const card = dragged, from = card.parentElement;
      col.appendChild(card);
      const res = await fetch('/api/v1/opportunities/' + card.dataset.id + '/stage', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
        body: JSON.stringify({stage: col.dataset.stage, version: Number(card.dataset.version)})
      });
      const body = await res.json();
      if (res.ok) {
        card.dataset.version = body.version;
        message.hidden = true;
        window.location.reload();
      } else {
        from.appendChild(card);
        message.textContent = body.detail || 'The move was refused.';
        message.hidden = false;
      }
    });
  });
})();
