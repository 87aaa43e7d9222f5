// The reporter (grid worker, volunteer, property staff, or anyone): a location from the device or
// a tap on the map, a category, a photo, a description. Errors from the server are shown next to
// the field they name.

import maplibregl from 'maplibre-gl';
import { ApiError, createProblem, has, maybeSignedIn, request, token } from '../api';
import type { NewProblem, ProblemPage } from '../api';
import type { App, View } from '../app';
import { categoryName } from '../colors';
import { clear, el, uid } from '../dom';
import { formatTime, lang, SEVERITIES, severityName, t } from '../i18n';
import { problemCategory, statusBadge } from '../popup';

/** Longest edge of an uploaded photo, pixels: enough to see a problem, small on a phone network. */
const PHOTO_MAX_PX = 1600;

/** Shrinks a camera photo to at most `PHOTO_MAX_PX` on its long edge, as JPEG. */
async function shrinkPhoto(file: File): Promise<Blob> {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_MAX_PX / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === 'image/jpeg') return file;
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('cannot encode the photo'))), 'image/jpeg', 0.85),
  );
}

/** Whether this browser reports as someone: an API token, or a session from signing in. */
const signedIn = () => !!token() || maybeSignedIn();

export function mountReport(app: App): View {
  const d = t();
  const { map, cats, panel, problems } = app;
  problems.auth = !!token();
  // A signed-in grid worker sees its own reports and where each one stands.
  const mineBox = el('section', { class: 'my-reports' });
  async function loadMine(): Promise<void> {
    if (!signedIn()) return;
    try {
      const page = await request<ProblemPage>('/api/v1/me/reports', { auth: true });
      clear(mineBox);
      if (page.features.length === 0) return;
      mineBox.append(
        el('h3', {}, lang() === 'en' ? 'My reports' : '我的上报'),
        el(
          'ul',
          { class: 'inbox-list' },
          ...page.features.slice(0, 50).map((f) =>
            el('li', { class: 'inbox-item', 'data-problem': f.properties.id }, el('span', {}, problemCategory(f, cats)), statusBadge(f.properties.status), el('span', { class: 'muted' }, formatTime(f.properties.reported_at))),
          ),
        ),
      );
    } catch {
      clear(mineBox);
    }
  }
  problems.onSelect = null;
  problems.setFilter({});
  let at: [number, number] | null = null;
  let photo: Blob | null = null;

  const marker = new maplibregl.Marker({ color: '#dc2626', draggable: true });
  marker.on('dragend', () => {
    const ll = marker.getLngLat();
    setLocation([ll.lng, ll.lat], null);
  });

  // --- fields -------------------------------------------------------------------------
  const errors: Record<string, HTMLElement> = {};
  const errorSlot = (name: string) => (errors[name] = el('p', { class: 'field-error', role: 'alert', 'data-error-for': name }));

  const locText = el('p', { class: 'loc-text muted' }, d.reportHint);
  const locBtn = el('button', { type: 'button', class: 'btn secondary', name: 'locate' }, d.useMyLocation);
  locBtn.addEventListener('click', () => {
    clearError('location');
    if (!('geolocation' in navigator)) {
      showError('location', d.geoUnsupported);
      return;
    }
    locBtn.disabled = true;
    locBtn.textContent = d.locating;
    // The W3C Geolocation API answers WGS-84, which is what the server stores.
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        locBtn.disabled = false;
        locBtn.textContent = d.useMyLocation;
        setLocation([pos.coords.longitude, pos.coords.latitude], pos.coords.accuracy);
        map.easeTo({ center: [pos.coords.longitude, pos.coords.latitude], zoom: Math.max(map.getZoom(), 17) });
      },
      (err) => {
        locBtn.disabled = false;
        locBtn.textContent = d.useMyLocation;
        showError('location', d.geoDenied + err.message);
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  });

  const catId = uid('cat');
  const catSel = el(
    'select',
    { id: catId, name: 'category', required: true },
    el('option', { value: '' }, d.pickCategory),
    ...cats.map((c) => el('option', { value: c.code }, categoryName(c))),
  );
  catSel.addEventListener('change', () => clearError('category'));

  const sevId = uid('sev');
  const sevSel = el('select', { id: sevId, name: 'severity' }, ...SEVERITIES.map((s) => el('option', { value: s }, severityName(s))));
  sevSel.value = 'medium';

  const photoId = uid('photo');
  // The input is hidden behind a label styled as a button, so its text is in the page's language.
  const photoInput = el('input', { id: photoId, type: 'file', name: 'photo', accept: 'image/*', capture: 'environment', class: 'visually-hidden' });
  const preview = el('img', { class: 'photo-preview', alt: '', hidden: true });
  photoInput.addEventListener('change', async () => {
    clearError('photos');
    const file = photoInput.files?.[0];
    photo = null;
    preview.hidden = true;
    if (!file) return;
    try {
      photo = await shrinkPhoto(file);
      preview.src = URL.createObjectURL(photo);
      preview.hidden = false;
    } catch (e) {
      showError('photos', d.photoUploadFailed + (e instanceof Error ? e.message : String(e)));
    }
  });

  const descId = uid('desc');
  const desc = el('textarea', { id: descId, name: 'description', rows: 3, maxlength: 2000, placeholder: d.descriptionPlaceholder });
  desc.addEventListener('input', () => clearError('description'));

  const submit = el('button', { type: 'submit', class: 'btn primary', name: 'submit' }, d.submit);
  const result = el('div', { class: 'result', 'aria-live': 'polite' });

  const form = el(
    'form',
    { class: 'report-form', novalidate: true },
    el('h2', { class: 'panel-title' }, d.reportTitle),
    el('div', { class: 'field', 'data-field': 'location' }, el('span', { class: 'label' }, d.location), el('div', { class: 'loc-row' }, locBtn, el('span', { class: 'muted' }, d.tapMap)), locText, errorSlot('location')),
    el('div', { class: 'field', 'data-field': 'category' }, el('label', { for: catId, class: 'label' }, d.category), catSel, errorSlot('category')),
    el('div', { class: 'field', 'data-field': 'severity' }, el('label', { for: sevId, class: 'label' }, d.severity), sevSel, errorSlot('severity')),
    el('div', { class: 'field', 'data-field': 'photos' }, el('span', { class: 'label' }, d.photo), el('label', { for: photoId, class: 'btn secondary file-btn' }, d.takePhoto), photoInput, preview, errorSlot('photos')),
    el('div', { class: 'field', 'data-field': 'description' }, el('label', { for: descId, class: 'label' }, d.description), desc, errorSlot('description')),
    errorSlot('body'),
    submit,
    result,
  );

  function showError(field: string, message: string): void {
    const slot = errors[field] ?? errors.body;
    if (!slot) return;
    const first = !form.querySelector('.field-error:not(:empty)');
    slot.textContent = message;
    slot.closest('.field')?.classList.add('invalid');
    if (first) slot.scrollIntoView({ block: 'nearest' });
  }
  function clearError(field: string): void {
    const slot = errors[field];
    if (!slot) return;
    slot.textContent = '';
    slot.closest('.field')?.classList.remove('invalid');
  }
  function clearErrors(): void {
    for (const k of Object.keys(errors)) clearError(k);
  }

  function setLocation(ll: [number, number], accuracy: number | null): void {
    at = ll;
    marker.setLngLat(ll).addTo(map);
    locText.textContent = d.selectedAt(ll[0].toFixed(6), ll[1].toFixed(6)) + (accuracy !== null ? ` · ${d.accuracy(Math.round(accuracy))}` : '');
    locText.classList.remove('muted');
    clearError('location');
  }

  const onMapClick = (e: maplibregl.MapMouseEvent) => setLocation([e.lngLat.lng, e.lngLat.lat], null);
  map.on('click', onMapClick);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void send();
  });

  async function send(): Promise<void> {
    clearErrors();
    clear(result);
    let ok = true;
    if (!at) {
      showError('location', d.noLocation);
      ok = false;
    }
    if (!catSel.value) {
      showError('category', d.pickCategory);
      ok = false;
    }
    if (!ok || !at) return;
    submit.disabled = true;
    submit.textContent = d.submitting;
    const body: NewProblem & { photos?: string[] } = {
      lon: Number(at[0].toFixed(7)),
      lat: Number(at[1].toFixed(7)),
      category: catSel.value,
      severity: sevSel.value,
      description: desc.value.trim(),
    };
    let photoWarning: string | null = null;
    try {
      if (photo) {
        if (await has('/api/v1/photos')) {
          const up = await request<{ id: string }>('/api/v1/photos', { method: 'POST', body: photo, auth: signedIn() });
          body.photos = [up.id];
        } else {
          photoWarning = d.photoNotSent;
        }
      }
      const created = await createProblem(body, signedIn());
      void loadMine();
      problems.upsert(created);
      problems.select(created);
      marker.remove();
      at = null;
      queueMicrotask(() => result.scrollIntoView({ block: 'nearest' }));
      result.append(
        el('p', { class: 'success', 'data-created': created.properties.id }, d.submitted),
        photoWarning ? el('p', { class: 'warning' }, photoWarning) : '',
        el(
          'button',
          {
            type: 'button',
            class: 'btn secondary',
            onclick: () => {
              form.reset();
              sevSel.value = 'medium';
              preview.hidden = true;
              photo = null;
              locText.textContent = d.reportHint;
              locText.classList.add('muted');
              clear(result);
              problems.select(null);
            },
          },
          d.reportAnother,
        ),
      );
    } catch (e) {
      if (e instanceof ApiError) {
        const field = e.field === 'lon' || e.field === 'lat' ? 'location' : e.field?.startsWith('photos') ? 'photos' : (e.field ?? 'body');
        showError(errors[field] ? field : 'body', e.message);
      } else {
        showError('body', e instanceof Error ? e.message : String(e));
      }
    } finally {
      submit.disabled = false;
      submit.textContent = d.submit;
    }
  }

  clear(panel);
  panel.append(form, mineBox);
  void loadMine();
  map.getCanvas().style.cursor = 'crosshair';

  return {
    unmount() {
      map.off('click', onMapClick);
      marker.remove();
      map.getCanvas().style.cursor = '';
      problems.select(null);
    },
  };
}
