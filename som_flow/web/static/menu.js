// The header's menu on a narrow screen: the "Menu" button shows and hides the links; Escape closes the menu and
// puts focus back on the button. Loaded in <head> so the `js` class is set before the page paints (no flash of
// the open menu); without scripts the class is missing and the links simply wrap.
document.documentElement.classList.add('js');
document.addEventListener('DOMContentLoaded', () => {
  const button = document.querySelector('.menu-toggle');
  if (!button) return;
  const panel = document.getElementById(button.getAttribute('aria-controls'));
  const isOpen = () => button.getAttribute('aria-expanded') === 'true';
  const show = (open) => {
    button.setAttribute('aria-expanded', String(open));
    panel.classList.toggle('open', open);
  };
  button.addEventListener('click', () => show(!isOpen()));
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    if (isOpen()) {
      show(false);
      button.focus();
    }
    // the bell is a <details>: Escape closes it too
    const bell = document.getElementById('bell');
    if (bell && bell.open) {
      bell.open = false;
      bell.querySelector('summary').focus();
    }
  });
});
