// Pieces the staff consoles share: the token box (until accounts land), and a problem's detail
// with its history and the lifecycle steps its status allows.

import { ApiError, getHistory, getProblem, has, login, logout, maybeSignedIn, me, NEXT_ACTIONS, request, setToken, token, transition } from '../api';
import type { Action, Category, Me, ProblemFeature } from '../api';
import { clear, el, uid } from '../dom';
import { actionName, lang, t } from '../i18n';
import { historyList, problemCard } from '../popup';
import { photoStrip } from './work';

/** Words of the sign-in form . */
function words() {
  return lang() === 'en'
    ? {
        account: 'Sign in',
        name: 'Name',
        password: 'Password',
        signIn: 'Sign in',
        signOut: 'Sign out',
        signedInAs: (who: string, role: string) => `Signed in as ${who} (${role})`,
        wrong: 'Wrong name or password.',
        orToken: 'Or use an API token:',
      }
    : {
        account: '账号登录',
        name: '用户名',
        password: '密码',
        signIn: '登录',
        signOut: '退出登录',
        signedInAs: (who: string, role: string) => `已登录：${who}（${role}）`,
        wrong: '用户名或密码错误。',
        orToken: '或使用 API 令牌：',
      };
}

/**
 * Sign-in for the staff consoles: name and password (a browser session) or an API token.
 * `onSignedIn` runs once signed in (also at start when this browser is) with the account of a
 * session (`null` for a token), `onSignedOut` after
 * signing out. `ready` says whether someone is signed in once the server has been asked.
 */
export function accountBox(onSignedIn: (who: Me | null) => void, onSignedOut: () => void): { root: HTMLElement; ready: Promise<boolean> } {
  const w = words();
  const root = el('div', { class: 'account-box' });
  const tokens = tokenBox(() => {
    if (token()) onSignedIn(null);
    else onSignedOut();
    void render();
  });
  async function render(): Promise<Me | null> {
    clear(root);
    if (token()) {
      root.append(tokens);
      return null;
    }
    // Ask the server only when this browser signed in before: visitors cause no 401.
    const who = maybeSignedIn() ? await me().catch(() => null) : null;
    if (who && who.via === 'cookie') {
      root.append(
        el(
          'div',
          { class: 'token-box' },
          el('span', { class: 'muted signed-in', 'data-user': who.name }, w.signedInAs(who.display_name || who.name, who.role)),
          el(
            'button',
            {
              type: 'button',
              name: 'logout',
              class: 'btn secondary small',
              onclick: () => {
                void logout()
                  .catch(() => undefined)
                  .then(() => {
                    onSignedOut();
                    return render();
                  });
              },
            },
            w.signOut,
          ),
        ),
      );
      return who;
    }
    const nameId = uid('login-name');
    const passId = uid('login-password');
    const nameIn = el('input', { id: nameId, name: 'login-name', autocomplete: 'username', required: true });
    const passIn = el('input', { id: passId, name: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
    const err = el('p', { class: 'field-error', 'data-error-for': 'login' });
    const form = el(
      'form',
      { class: 'login-form' },
      el('h3', {}, w.account),
      el('div', { class: 'field' }, el('label', { for: nameId, class: 'label' }, w.name), nameIn),
      el('div', { class: 'field' }, el('label', { for: passId, class: 'label' }, w.password), passIn),
      el('button', { type: 'submit', class: 'btn primary small' }, w.signIn),
      err,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      err.textContent = '';
      void login(nameIn.value.trim(), passIn.value)
        .then(async () => {
          passIn.value = '';
          onSignedIn(await render());
        })
        .catch((x: unknown) => {
          err.textContent = x instanceof ApiError && x.status === 401 ? w.wrong : x instanceof Error ? x.message : String(x);
        });
    });
    root.append(form, el('p', { class: 'note' }, w.orToken), tokens);
    return null;
  }
  const ready = render().then((who) => {
    const signedIn = Boolean(token() || who);
    if (signedIn) onSignedIn(who);
    return signedIn;
  });
  return { root, ready };
}

/** The token box: enter a staff API token, or forget it. `onChange` runs after either. */
export function tokenBox(onChange: () => void): HTMLElement {
  const d = t();
  const box = el('div', { class: 'token-box' });
  const render = () => {
    clear(box);
    if (token()) {
      box.append(
        el('span', { class: 'muted signed-in' }, d.signedIn),
        el(
          'button',
          {
            type: 'button',
            class: 'btn secondary small',
            onclick: () => {
              setToken(null);
              render();
              onChange();
            },
          },
          d.signOut,
        ),
      );
    } else {
      const id = uid('token');
      const input = el('input', { id, type: 'password', name: 'token', autocomplete: 'off', placeholder: d.token });
      const form = el(
        'form',
        { class: 'token-form' },
        el('label', { for: id, class: 'label' }, d.token),
        el('div', { class: 'loc-row' }, input, el('button', { type: 'submit', class: 'btn primary small' }, d.signIn)),
        el('p', { class: 'note' }, d.tokenHint),
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        if (!input.value.trim()) return;
        setToken(input.value.trim());
        render();
        onChange();
      });
      box.append(form);
    }
  };
  render();
  return box;
}

/**
 * A problem's card, history and action buttons. `onChanged` gets the problem after a step.
 * A stale version (409) reloads the problem and says so.
 */
export function problemDetail(
  initial: ProblemFeature,
  cats: Category[],
  onChanged: (f: ProblemFeature) => void,
  onClose: () => void,
  allowed: readonly Action[] | null = null,
): HTMLElement {
  const d = t();
  const root = el('div', { class: 'detail', 'data-problem': initial.properties.id });
  let f = initial;

  const render = async (message: string | null) => {
    clear(root);
    const noteId = uid('note');
    const note = el('textarea', { id: noteId, name: 'note', rows: 2, maxlength: 2000, placeholder: d.notePlaceholder });
    const msg = el('p', { class: message ? 'warning' : 'field-error', role: 'alert' }, message ?? '');
    const photoId = uid('evidence');
    const photoInput = el('input', { id: photoId, type: 'file', name: 'evidence', accept: 'image/*', capture: 'environment', class: 'visually-hidden' });
    const photoName = el('span', { class: 'muted' });
    photoInput.addEventListener('change', () => (photoName.textContent = photoInput.files?.[0]?.name ?? ''));
    const actions = (NEXT_ACTIONS[f.properties.status] ?? []).filter((a) => !allowed || allowed.includes(a)).map((a) =>
      el('button', { type: 'button', class: `btn ${a === 'verify' || a === 'dispatch' ? 'primary' : 'secondary'}`, 'data-action': a, onclick: () => void act(a) }, actionName(a)),
    );
    const hist = el('div', { class: 'history-box' }, el('p', { class: 'muted' }, d.loading));
    root.append(
      el('div', { class: 'detail-head' }, el('button', { type: 'button', class: 'link', onclick: onClose }, `← ${d.problems}`)),
      problemCard(f, cats),
      actions.length
        ? el(
            'div',
            { class: 'actions' },
            el('label', { for: noteId, class: 'label' }, d.note),
            note,
            el('span', { class: 'label' }, d.evidencePhoto),
            el('div', { class: 'loc-row' }, el('label', { for: photoId, class: 'btn secondary small file-btn' }, d.takePhoto), photoName),
            photoInput,
            el('div', { class: 'action-row' }, ...actions),
            msg,
          )
        : '',
      el('h3', {}, d.history),
      hist,
    );

    async function act(a: Action): Promise<void> {
      msg.textContent = '';
      msg.className = 'field-error';
      for (const b of actions) b.disabled = true;
      try {
        // Evidence photos are uploaded first and referenced by id (SHA-256) in the step.
        const file = photoInput.files?.[0];
        const photos: string[] = [];
        let warning: string | null = null;
        if (file) {
          if (await has('/api/v1/photos')) photos.push((await request<{ id: string }>('/api/v1/photos', { method: 'POST', body: file, auth: true })).id);
          else warning = d.photoNotSentStep;
        }
        f = await transition(f.properties.id, a, { version: f.properties.version, note: note.value.trim(), photos });
        onChanged(f);
        await render(warning);
      } catch (e) {
        for (const b of actions) b.disabled = false;
        if (e instanceof ApiError && e.status === 409 && e.currentVersion !== null) {
          f = await getProblem(f.properties.id, true);
          onChanged(f);
          await render(d.stale);
          return;
        }
        msg.textContent = e instanceof ApiError && e.status === 401 ? `${d.needToken} ${e.message}` : e instanceof Error ? e.message : String(e);
      }
    }

    try {
      const h = await getHistory(f.properties.id, true);
      clear(hist);
      hist.append(historyList(h.events, photoStrip));
    } catch (e) {
      clear(hist);
      hist.append(el('p', { class: 'error' }, `${d.loadFailed}: ${e instanceof Error ? e.message : String(e)}`));
    }
  };
  void render(null);
  return root;
}
