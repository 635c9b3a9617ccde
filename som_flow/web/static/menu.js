// The header's menu on a narrow screen: the "Menu" button shows and hides the links; Escape closes the menu and
// puts focus back on the button. Loaded in <head> so the `js` class is set before the page paints (no flash of
// the open menu); without scripts the class is missing and the links simply wrap.
document.documentElement.classList.add('js');
// Listened for on the document from the start (not on DOMContentLoaded), so a tap on the button while a long page is
// still loading is not lost.
const menuToggle = () => document.querySelector('.menu-toggle');
const showMenu = (button, open) => {
  button.setAttribute('aria-expanded', String(open));
  document.getElementById(button.getAttribute('aria-controls')).classList.toggle('open', open);
};
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('.menu-toggle');
  if (button) showMenu(button, button.getAttribute('aria-expanded') !== 'true');
});
document.addEventListener('keydown', (event) => {
  const button = menuToggle();
  if (event.key !== 'Escape' || event.defaultPrevented || !button) return;
  if (button.getAttribute('aria-expanded') === 'true') {
    showMenu(button, false);
    button.focus();
  }
});

// Escape closes the <details> popup the focus is in (a row's "⋯" menu, the schedule's Actions, an edit form shown in
// place), else any open popup menu (the bell, a row menu), and puts focus back on the summary that opened it; else
// a non-modal <dialog> shown open (the customer's pop-up note). A modal <dialog> handles its own Escape (the
// browser's), and a <select>'s open list takes the key before we see it.
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('dialog[open]:modal')) return;
  const note = document.querySelector('dialog[open]');
  if (note && !document.activeElement.closest('details[open]')) {
    note.close();
    return;
  }
  const focused = document.activeElement;
  const within = focused && focused.closest('details[open]');
  const menus = within ? [within] : [...document.querySelectorAll('details.bell[open], details.row-menu[open]')];
  menus.forEach((details) => {
    details.open = false;
    if (within || details.contains(focused) || focused === document.body) details.querySelector('summary').focus();
  });
});

// A box that scrolls sideways (a wide table on a phone) takes keyboard focus while it scrolls, so the keyboard can
// scroll it too (WCAG 2.1.1). Observed rather than checked once: a tab or a turned phone changes what overflows.
document.addEventListener('DOMContentLoaded', () => {
  if (!window.ResizeObserver) return;
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)
    && el.scrollWidth > el.clientWidth + 1;
  const observer = new ResizeObserver((entries) => entries.forEach(({target}) => {
    if (scrolls(target)) {
      if (!target.hasAttribute('tabindex')) {
        target.tabIndex = 0;
        target.dataset.scrollFocus = '';
      }
    } else if ('scrollFocus' in target.dataset) {
      target.removeAttribute('tabindex');
      delete target.dataset.scrollFocus;
    }
  }));
  document.querySelectorAll('main table').forEach((table) => {
    observer.observe(table);
    observer.observe(table.parentElement);
  });
  document.querySelectorAll('main .board, main .calendar-wrap, main .table-scroll').forEach((el) => observer.observe(el));
});
