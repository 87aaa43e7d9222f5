// A small form unfolded under a button of a problem's detail (the public wording, a notice):
// its fields, then 保存/开具 and 取消, then the error no field claimed. Sending is refused while
// the server cannot be reached.

import type { ComponentChildren } from 'preact';
import { reachable } from '../connection';
import { ErrorText } from './ErrorText';

export function FoldedForm(props: {
  class: string;
  busy: boolean;
  submit: { label: string; action: string };
  cancel: string;
  onSubmit: () => void;
  onCancel: () => void;
  /** The error no field shows, and the name its message is shown under. */
  error: unknown;
  errorFor: string;
  children: ComponentChildren;
}) {
  return (
    <form
      class={props.class}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
      <div class="action-row">
        <button type="submit" class="btn primary" data-action={props.submit.action} disabled={props.busy || !reachable.value}>
          {props.submit.label}
        </button>
        <button type="button" class="btn secondary" onClick={props.onCancel}>
          {props.cancel}
        </button>
      </div>
      <ErrorText error={props.error} context={null} for={props.errorFor} />
    </form>
  );
}
