// Thumbnails of evidence photos, fetched with the staff session; a click opens the full photo.

import { photoBlob } from '../api';
import { useLoad, useObjectUrl } from '../hooks';

function Thumb({ id }: { id: string }) {
  const [thumb] = useLoad(() => photoBlob(id, true), [id]);
  const src = useObjectUrl(thumb.value);
  const open = (e: Event) => {
    e.preventDefault();
    void photoBlob(id, false)
      .then((b) => {
        const u = URL.createObjectURL(b);
        window.open(u, '_blank', 'noopener');
        setTimeout(() => URL.revokeObjectURL(u), 60_000);
      })
      .catch(() => undefined);
  };
  return (
    <a href="#" class="thumb-link" onClick={open}>
      <img alt="" class="thumb" data-photo={id} width={96} height={64} src={src ?? undefined} />
    </a>
  );
}

export function PhotoStrip({ ids }: { ids: string[] }) {
  if (ids.length === 0) return null;
  return (
    <div class="photo-strip">
      {ids.map((id) => (
        <Thumb key={id} id={id} />
      ))}
    </div>
  );
}
