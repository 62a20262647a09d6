// login.js: the sign-in form (login and password -> user token).

import { h, replace } from '../dom.js';

export function mountLogin(root, app, { message = '' } = {}) {
  const login = h('input', { type: 'text', id: 'login', name: 'login', testid: 'login-user', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'password', name: 'password', testid: 'login-password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', testid: 'login-error', role: 'alert' }, message || app.flash || '');
  app.flash = '';
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-submit' }, 'Sign in');

  const form = h('form', {
    class: 'card login-card', testid: 'login-form',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      submit.textContent = 'Signing in…';
      try {
        await app.account.login(login.value.trim(), password.value);
      } catch (err) {
        error.textContent = err.status === 401 || err.status === 403 ? 'Wrong login or password.' : err.message || 'Sign-in failed.';
        submit.disabled = false;
        submit.textContent = 'Sign in';
        password.select();
      }
    },
  },
  h('h1', { class: 'brand' }, 'possync'),
  h('p', { class: 'muted' }, 'Point of sale'),
  h('label', { for: 'login' }, 'Login'), login,
  h('label', { for: 'password' }, 'Password'), password,
  error,
  submit);

  replace(root, h('main', { class: 'screen screen-center' }, form));
  login.focus();
  return { unmount() {} };
}
