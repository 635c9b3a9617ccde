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

  // "Move to…": the same move without a mouse. Every card's button opens one shared dialog (pipeline.html), filled
  // with that card's deal and the stages it may move to; Escape or Cancel closes it and focus goes back to the button.
  // Without scripts each is a link to the deal page's own "Move to", which comes back to the board.
  const dialog = document.getElementById('move-dialog');
  if (dialog) {
    const form = dialog.querySelector('form'), select = form.elements.stage;
    const title = document.getElementById('move-title');
    const stages = Array.from(select.options, function (o) { return [o.value, o.text]; });
    let card = null, opener = null;
    document.querySelectorAll('a.move-open').forEach(function (link) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'move-open secondary';
      button.setAttribute('aria-haspopup', 'dialog');
      while (link.firstChild) button.appendChild(link.firstChild);
      link.replaceWith(button);
    });
    document.addEventListener('click', function (e) {
      const button = e.target.closest('button.move-open');
      if (!button) return;
      opener = button;
      card = button.closest('.card-item');
      const moves = card.dataset.moves.split(' ');
      select.replaceChildren.apply(select, stages.filter(function (s) { return moves.includes(s[0]); })
        .map(function (s) { return new Option(s[1], s[0]); }));
      title.textContent = dialog.dataset.title.replace('{deal}', card.dataset.name);
      form.elements.version.value = card.dataset.version;
      message.hidden = true;
      dialog.showModal();
    });
    form.addEventListener('submit', async function (e) {
      if (e.submitter && e.submitter.getAttribute('formmethod') === 'dialog') return;  // Cancel: the browser closes it
      e.preventDefault();
      const option = select.options[select.selectedIndex];
      if (!await move(card, option.value, option.text)) dialog.close();  // the message is on the board, behind it
    });
    dialog.addEventListener('close', function () { if (opener && opener.isConnected) opener.focus(); });
  }
})();
