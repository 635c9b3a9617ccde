// The board: drag a card to another stage, or use its "Move to" control (keyboard and touch); the server decides.
// A refused move leaves the card where it was and says which deal could not go where, and why.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById('board-message');
  // the CSP forbids inline handlers, so the pickers submit from here
  ['kind-picker', 'currency-picker', 'only-picker'].forEach(function (id) {
    const picker = document.getElementById(id);
    if (picker) picker.addEventListener('change', function () { picker.form.submit(); });
  });

  function say(text) {
    message.textContent = text;
    message.hidden = false;
  }

  // true when the move was accepted (the board then reloads with the card in its new column)
  async function move(card, stage, stageName) {
    const res = await fetch('/api/v1/opportunities/' + card.dataset.id + '/stage', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
      body: JSON.stringify({stage: stage, version: Number(card.dataset.version)})
    });
    let body = {};
    try { body = await res.json(); } catch (e) { /* a proxy's HTML error page: say the move was refused */ }
    if (res.ok) {
      message.hidden = true;
      window.location.reload();
      return true;
    }
    // the sentence comes translated from the page (data-refused), its blanks filled here
    say(message.dataset.refused.replace('{deal}', card.dataset.name).replace('{stage}', stageName)
      .replace('{reason}', body.detail || message.dataset.noReason));
    return false;
  }

  let dragged = null;
  document.querySelectorAll('.card-item[draggable="true"]').forEach(function (card) {
    card.addEventListener('dragstart', function (e) { dragged = card; e.dataTransfer.setData('text/plain', card.dataset.id); });
    card.addEventListener('dragend', function () { dragged = null; });
  });
  document.querySelectorAll('.column').forEach(function (col) {
    col.addEventListener('dragover', function (e) { if (dragged) { e.preventDefault(); col.classList.add('over'); } });
    col.addEventListener('dragleave', function () { col.classList.remove('over'); });
    col.addEventListener('drop', async function (e) {
      e.preventDefault(); col.classList.remove('over');
      if (!dragged || dragged.parentElement === col) return;
      const card = dragged, from = card.parentElement, next = card.nextSibling;
      col.appendChild(card);
      if (!await move(card, col.dataset.stage, col.dataset.stageName)) {
        from.insertBefore(card, next);  // back in its place, not at the column's end
      }
    });
  });

  // "Move to": the same move without a mouse; Escape puts the choice back and leaves the card as it was
  document.querySelectorAll('form.move-to').forEach(function (form) {
    const card = form.closest('.card-item'), select = form.elements.stage;
    const first = select.selectedIndex;
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      const option = select.options[select.selectedIndex];
      if (!await move(card, option.value, option.text)) select.focus();
    });
    form.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { select.selectedIndex = first; message.hidden = true; }
    });
  });
})();
