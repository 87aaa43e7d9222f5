import { t } from '../i18n';
import { ErrorText } from './ErrorText';

/** "Loading failed: <why>" where a list or a panel would be. */
export function LoadError({ error }: { error: unknown }) {
  return (
    <p class="error">
      {t().loadFailed}
      {': '}
      <ErrorText error={error} inline />
    </p>
  );
}
