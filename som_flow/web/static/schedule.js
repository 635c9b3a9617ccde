// Schedule board: drag an appointment to another hour; the server decides. A refused move snaps back and says why.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById('schedule-message');
  // the CSP forbids inline handlers, so the view/user pickers submit from here
  const filter = document.getElementById('board-filter');
  // no view chosen: the stylesheet shows a phone the agenda, so the picker says so too
  if (filter && document.querySelector('.schedule-auto') && window.matchMedia('(max-width: 48rem)').matches) {
    filter.querySelector('select[name="view"]').value = 'agenda';
  }
  if (filter) {
    filter.querySelectorAll('select').forEach(function (select) {
      select.addEventListener('change', function () { filter.submit(); });
    });
  }
  let dragged = null;
  document.querySelectorAll('.appt[draggable="true"]').forEach(function (appt) {
    appt.addEventListener('dragstart', function (e) {
      dragged = appt;
      e.dataTransfer.setData('text/plain', appt.dataset.id);
    });
  });
  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }
  document.querySelectorAll('td.slot').forEach(function (slot) {
    slot.addEventListener('dragover', function (e) { if (dragged) { e.preventDefault(); slot.classList.add('over'); } });
    slot.addEventListener('dragleave', function () { slot.classList.remove('over'); });
    slot.addEventListener('drop', async function (e) {
      e.preventDefault();
      slot.classList.remove('over');
      if (!dragged || dragged.parentElement === slot) return;
      const appt = dragged, from = appt.parentElement;
      dragged = null;
      // keep the minutes past the hour and the length; of a series only this occurrence moves (the server
      // detaches it), so the other weeks stay where they were
      const shown = new Date(appt.dataset.start);
      const pastTheHour = shown.getTime() - new Date(from.dataset.start).getTime();
      const start = new Date(new Date(slot.dataset.start).getTime() + pastTheHour);
      const end = new Date(start.getTime() + new Date(appt.dataset.end).getTime() - shown.getTime());
      const change = {start: start.toISOString(), end: end.toISOString()};
      if (appt.dataset.series) change.occurrence = appt.dataset.start;
      slot.appendChild(appt);
      let res, body = {};
      try {
        res = await fetch('/api/v1/appointments/' + appt.dataset.id, {
          method: 'PATCH', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
          body: JSON.stringify(change)
        });
        body = await res.json();
      } catch (err) {
        res = {ok: false};
      }
      if (res.ok) {
        window.location.reload();
      } else {
        from.appendChild(appt);
        show(body.detail || 'The move was refused.');
      }
    });
  });
})();
