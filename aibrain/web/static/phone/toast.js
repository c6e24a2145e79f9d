// The note at the bottom of the screen: a passing one hides after a few seconds, an error stays until
// tapped (with a sign-in link when the session ended).

const TOAST_MS = 5000;
const box = document.getElementById('toast');
let timer = null;

box.addEventListener('click', () => {
  box.hidden = true;
});

export function toast(text, {error = false, signIn = false} = {}) {
  box.replaceChildren(text);
  if (signIn) {
    const link = document.createElement('a');
    link.href = '/login?next=/m/';
    link.textContent = ' 去登录';
    box.append(link);
  }
  box.classList.toggle('error', error);
  box.hidden = false;
  window.clearTimeout(timer);
  if (!error) {
    timer = window.setTimeout(() => {
      box.hidden = true;
    }, TOAST_MS);
  }
}
