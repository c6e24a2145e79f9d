// Signing out of a phone that may be shared: what this worker left on it goes too (the inbox kept for
// offline use, the app's cached pages, actions not sent yet — after asking, since those are lost), and
// the sign-in page that follows comes back to the app.

/**
 * Sign out through `form` (POST /logout with its CSRF field): `waiting()` says how many actions are not
 * sent, `forget()` removes what this worker left on the phone, `told(text)` says why it could not.
 */
export function forgetOnSignOut(form, {waiting, forget, told}) {
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const count = await waiting();
    if (count && !window.confirm(`还有 ${count} 项操作未发送，退出登录后将被删除。确定退出？`)) {
      return;
    }
    let answer;
    try {
      answer = await fetch(form.action, {method: 'POST', body: new FormData(form)});
    } catch (error) {
      told('离线：联网后才能退出登录 (offline: sign out when back online)');
      return;
    }
    if (!answer.ok) { // the page's token is stale: the server has not ended the session
      told('退出登录未成功，请刷新页面后重试 (reload the page and sign out again)');
      return;
    }
    await forget();
    window.location.assign('/login?next=/m/');
  });
}
