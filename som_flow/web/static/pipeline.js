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

  // listened for on the document, not on each card, so the cards "Show more" adds can be dragged as well
  let dragged = null;
  document.addEventListener('dragstart', function (e) {
    const card = e.target.closest && e.target.closest('.card-item[draggable="true"]');
    if (!card) return;
    dragged = card;
    e.dataTransfer.setData('text/plain', card.dataset.id);
  });
  document.addEventListener('dragend', function () { dragged = null; });
  document.querySelectorAll('.column').forEach(function (col) {
    col.addEventListener('dragover', function (e) { if (dragged) { e.preventDefault(); col.classList.add('over'); } });
    col.addEventListener('dragleave', function () { col.classList.remove('over'); });
    col.addEventListener('drop', async function (e) {
      e.preventDefault(); col.classList.remove('over');
      if (!dragged || dragged.parentElement === col) return;
      const card = dragged, from = card.parentElement, next = card.nextSibling;
      col.insertBefore(card, col.querySelector('.column-foot'));  // above the column's "Show more", if it has one
      if (!await move(card, col.dataset.stage, col.dataset.stageName)) {
        from.insertBefore(card, next);  // back in its place, not at the column's end
      }
    });
  });

  // "Move to…": the same move without a mouse. Every card's button opens one shared dialog (pipeline.html), filled
  // with that card's deal and the stages it may move to; Escape or Cancel closes it and focus goes back to the button.
  // Without scripts each is a link to the deal page's own "Move to", which comes back to the board.
  const dialog = document.getElementById('move-dialog');
  // each card's "Move to…" link (the deal page's form, without scripts) becomes a button opening the dialog: the
  // board's cards at load, and the cards "Show more" adds
  function asButtons(root) {
    if (!dialog) return;
    root.querySelectorAll('a.move-open').forEach(function (link) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'move-open secondary';
      button.setAttribute('aria-haspopup', 'dialog');
      while (link.firstChild) button.appendChild(link.firstChild);
      link.replaceWith(button);
    });
  }
  if (dialog) {
    const form = dialog.querySelector('form'), select = form.elements.stage;
    const title = document.getElementById('move-title');
    const stages = Array.from(select.options, function (o) { return [o.value, o.text]; });
    let card = null, opener = null;
    asButtons(document);
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

  // "Show more": a column's next cards, written by the server as the first ones were (GET /pipeline/cards), added
  // above the column's foot. The button is hidden in the page, so a browser without scripts shows only the link to
  // the list; focus goes to the first new card and the status region says how many came.
  const status = document.getElementById('board-status');
  document.querySelectorAll('button.show-more').forEach(function (button) { button.hidden = false; });
  document.addEventListener('click', async function (e) {
    const button = e.target.closest('button.show-more');
    if (!button || button.disabled) return;
    const url = new URL(button.dataset.url, window.location.href);
    if (button.dataset.stage) url.searchParams.set('stage', button.dataset.stage);
    url.searchParams.set('after', button.dataset.after);
    button.disabled = true;
    let res = null;
    try { res = await fetch(url, {credentials: 'same-origin', headers: {'Accept': 'text/html'}}); } catch (err) { /* offline */ }
    button.disabled = false;
    if (!res || !res.ok) { say(message.dataset.moreFailed); return; }
    const template = document.createElement('template');
    template.innerHTML = await res.text();
    const batch = template.content.querySelector('.more-cards');
    if (!batch) { say(message.dataset.moreFailed); return; }
    const cards = Array.from(batch.querySelectorAll('.card-item'));
    const foot = button.closest('.column-foot'), section = foot.parentElement;
    const list = section.querySelector('.deal-list');  // a stageless kind's cards are in a list, not the section
    cards.forEach(function (card) { if (list) list.appendChild(card); else section.insertBefore(card, foot); });
    cards.forEach(asButtons);
    button.dataset.after = batch.dataset.after;
    // the link's count goes down by the cards added (the server said what it was at load)
    const link = foot.querySelector('a.more');
    const left = Math.max(0, Number(link.dataset.left) - cards.length);
    link.dataset.left = String(left);
    link.textContent = link.dataset.text.replace('{n}', left);
    message.hidden = true;
    status.textContent = status.dataset.shown.replace('{n}', cards.length);
    if (batch.dataset.more !== 'true') foot.hidden = true;  // every card of the column is on the board now
    const first = cards.length ? cards[0].querySelector('a') : null;
    if (first) first.focus();
  });
})();
