// A file the API answered, handed to the person: saved under a name (CSV, GPX) or opened in a new
// tab (a printable page). Requests go through `request()` with the session and CSRF header, so a
// plain link cannot do this; the object URL is freed a minute later, when the browser has it.

/** How long an object URL is kept for the browser to save or show it, ms. */
const KEEP_URL_MS = 60_000;

function later(url: string): void {
  setTimeout(() => URL.revokeObjectURL(url), KEEP_URL_MS);
}

/** Saves `blob` as the file `name`. */
export function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  later(url);
}

/** Opens `blob` (a printable HTML page) in a new tab. */
export function openFile(blob: Blob): void {
  const url = URL.createObjectURL(blob);
  window.open(url, '_blank', 'noopener');
  later(url);
}
