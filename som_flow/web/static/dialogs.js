// Forms that ask first (templates/deal/_dialogs.html): each <details data-dialog> becomes a button opening a
// modal <dialog> with the same form. Without JS the <details> stays and opens in place. One shown open by the
// server (a refused form, as typed) opens at once. Escape closes a dialog (the browser's own handling) and focus
// returns to its button. Also: "Add a line" on estimate forms adds a blank row.
(function () {
  document.querySelectorAll('details[data-dialog]').forEach(function (details) {
    const summary = details.querySelector(':scope > summary');
    const body = details.querySelector(':scope > .dialog-body');
    const dialog = document.createElement('dialog');
    dialog.className = 'action-dialog';
    dialog.id = 'dialog-' + details.dataset.dialog;
    dialog.setAttribute('aria-labelledby', body.getAttribute('aria-labelledby'));
    while (body.firstChild) dialog.appendChild(body.firstChild);
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = summary.textContent;
    button.setAttribute('aria-haspopup', 'dialog');
    button.addEventListener('click', function () { dialog.showModal(); });
    // closed by Escape, Cancel or its form: focus goes back to the button that opens it, also for a dialog the
    // page opened by itself (a refused form), which has no opener the browser could return to
    dialog.addEventListener('close', function () { if (button.isConnected) button.focus(); });
    const open = details.open;
    details.replaceWith(button);
    document.body.appendChild(dialog);
    if (open) dialog.showModal();
  });

  document.querySelectorAll('[data-add-line]').forEach(function (add) {
    add.hidden = false;
    add.addEventListener('click', function () {
      const body = document.getElementById(add.dataset.addLine);
      const rows = body.querySelectorAll('tr');
      const last = rows[rows.length - 1];
      const row = last.cloneNode(true);
      const next = rows.length;
      row.querySelectorAll('input').forEach(function (input) {
        input.name = input.name.replace(/^lines-\d+-/, 'lines-' + next + '-');
        input.value = '';
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
        const label = input.getAttribute('aria-label');
        if (label) input.setAttribute('aria-label', label.replace(/\d+$/, String(next + 1)));
      });
      row.querySelectorAll('.field-error').forEach(function (e) { e.remove(); });
      body.appendChild(row);
      row.querySelector('input').focus();
    });
  });
})();
