// An error where a person reads it: beside a field (`for` names it: `data-error-for`), or under a
// form. A string is shown as it is (the page's own words); anything thrown by a request is put
// in words by the dictionary's error table, with the server's message as the title only.

import { errorDetail, errorText } from '../i18n/errors';

export function ErrorText(props: { error: unknown; for?: string; context?: string | null; class?: string; inline?: boolean }) {
  const Tag = props.inline ? 'span' : 'p';
  const { error } = props;
  const none = error === null || error === undefined || error === '';
  const text = none ? '' : typeof error === 'string' ? error : errorText(error, props.context ?? null);
  return (
    <Tag class={props.class ?? (props.inline ? undefined : 'field-error')} role="alert" data-error-for={props.for} title={none || typeof error === 'string' ? undefined : errorDetail(error)}>
      {text}
    </Tag>
  );
}
