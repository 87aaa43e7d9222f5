// Sign-in for staff and grid workers: name and password (a browser session), or, once signed in,
// who is signed in and a button to sign out. The one way the page signs anyone in.

import { useState } from 'preact/hooks';
import { roleName, t } from '../i18n';
import { useId } from '../hooks';
import { session, signIn, signOut } from '../session';
import { ErrorText } from './ErrorText';
import { Field } from './Field';

export function SignIn() {
  const d = t();
  const me = session.value;
  const nameId = useId('login-name');
  const passId = useId('login-password');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (me === undefined) return <p class="muted">{d.loading}</p>;
  if (me) {
    return (
      <div class="account-box signed-in-box">
        <span class="muted signed-in" data-user={me.name}>
          {d.signedInAs(me.display_name || me.name, roleName(me.role))}
        </span>
        <button type="button" name="logout" class="btn secondary small" onClick={() => void signOut()}>
          {d.signOut}
        </button>
      </div>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await signIn(name.trim(), password);
      setPassword('');
    } catch (x) {
      setError(x);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="account-box login-form" onSubmit={(e) => void submit(e)}>
      <h3>{d.account}</h3>
      <p class="note">{d.accountHint}</p>
      <div class="field-row">
        <Field name="login-name" label={d.userName} for={nameId}>
          <input id={nameId} name="login-name" type="text" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field name="login-password" label={d.password} for={passId}>
          <input id={passId} name="login-password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
      </div>
      <button type="submit" class="btn primary small" disabled={busy}>
        {busy ? d.signingIn : d.signIn}
      </button>
      <ErrorText error={error} for="login" context="signin" />
    </form>
  );
}
