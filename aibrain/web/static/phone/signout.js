// Signing out of a phone that may be shared: what this worker left on it goes too (the inbox kept for
// offline use, the app's cached pages, actions not sent yet — after asking, since those are lost).

/**
 * Before the sign-out form goes: `waiting()` says how many actions are not sent, `forget()` removes what
 * this worker left on the phone.
 */
export function forgetOnSignOut(form, {waiting, forget}) {
  form.addEventListener('submit', async event => {
    if (form.dataset.forgotten === 'yes') {
      return; // the second time round: cleared already, let it go
    }
    event.preventDefault();
    const count = await waiting();
    if (count && !window.confirm(`还有 ${count} 项操作未发送，退出登录后将被删除。确定退出？`)) {
      return;
    }
    try {
      await forget();
    } finally {
      form.dataset.forgotten = 'yes';
      form.requestSubmit();
    }
  });
}
