// A photo for a form: the camera (or the gallery) behind a button in the page's language, a
// preview, and the photo shrunk on the phone before it is uploaded (`shrinkPhoto`). The form gets
// the Blob to upload, or `null`.

import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { useId, useObjectUrl } from '../hooks';
import { shrinkPhoto } from '../photo';

export function PhotoPicker(props: { name: string; label?: string; photo: Blob | null; onChange: (photo: Blob | null) => void; buttonClass?: string }) {
  const d = t();
  const id = useId(props.name);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const preview = useObjectUrl(props.photo);
  const pick = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    setNote(null);
    props.onChange(null);
    if (!file) return;
    setBusy(true);
    const { blob, shrunk } = await shrinkPhoto(file);
    setBusy(false);
    if (!shrunk) setNote(d.photoUnreadable);
    props.onChange(blob);
  };
  return (
    <>
      {props.label && <span class="label">{props.label}</span>}
      <div class="loc-row">
        {/* The input is hidden behind a label styled as a button, so its text is in the page's language. */}
        <label for={id} class={`btn secondary file-btn ${props.buttonClass ?? ''}`}>
          {busy ? d.photoShrinking : d.takePhoto}
        </label>
        {props.photo && (
          <button type="button" class="link" onClick={() => props.onChange(null)}>
            {d.removePhoto}
          </button>
        )}
      </div>
      <input id={id} type="file" name={props.name} accept="image/*" capture="environment" class="visually-hidden" onChange={(e) => void pick(e)} />
      <img class="photo-preview" alt="" hidden={!preview} src={preview ?? undefined} />
      {note && <p class="note">{note}</p>}
    </>
  );
}
