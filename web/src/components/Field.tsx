// A form field: its label, the control, and the error shown beside it (`data-error-for`).

import type { ComponentChildren } from 'preact';
import { ErrorText } from './ErrorText';

export function Field(props: { name: string; label: string; for?: string; error?: unknown; context?: string; children: ComponentChildren }) {
  const invalid = props.error !== null && props.error !== undefined && props.error !== '';
  return (
    <div class={`field${invalid ? ' invalid' : ''}`} data-field={props.name}>
      {props.for ? (
        <label for={props.for} class="label">
          {props.label}
        </label>
      ) : (
        <span class="label">{props.label}</span>
      )}
      {props.children}
      <ErrorText error={props.error} for={props.name} context={props.context ?? null} />
    </div>
  );
}
