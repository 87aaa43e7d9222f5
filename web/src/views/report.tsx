// The reporter (grid worker, volunteer, property staff, or anyone): a location from the device or
// a tap on the map, a category, a photo (shrunk on the phone), a description. Errors are shown
// next to the field they are about. A signed-in grid worker's reports go out as that account and
// are listed under "my reports" with where each one stands.

import maplibregl from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, createProblem, has, myReports, uploadPhoto } from '../api';
import type { NewProblem, ProblemFeature } from '../api';
import type { ViewProps } from '../app';
import { categoryName } from '../colors';
import { Field } from '../components/Field';
import { PhotoPicker } from '../components/PhotoPicker';
import { problemCategory } from '../colors';
import { StatusBadge } from '../components/StatusBadge';
import { ErrorText } from '../components/ErrorText';
import { formatTime, SEVERITIES, severityName, t } from '../i18n';
import { geolocationText } from '../i18n/errors';
import { useId, useLoad, useProblemLayer } from '../hooks';
import { session } from '../session';

/** How many of my reports are listed. */
const MY_REPORTS_SHOWN = 50;
/** Geolocation: a fresh, precise fix, within 15 s. */
const GEO_OPTIONS: PositionOptions = { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 };

/** The form's fields an error can be about; anything else is shown under the form (`body`). */
type FieldName = 'location' | 'category' | 'severity' | 'photos' | 'description' | 'body';

/** The field of the form a server error is about. */
function fieldOf(e: unknown): FieldName {
  const f = e instanceof ApiError ? e.field : null;
  if (f === 'lon' || f === 'lat' || f === 'geometry') return 'location';
  if (f?.startsWith('photo')) return 'photos';
  if (f === 'category' || f === 'severity' || f === 'description') return f;
  return 'body';
}

function MyReports({ cats, reloadKey }: { cats: ViewProps['app']['cats']; reloadKey: number }) {
  const me = session.value;
  const [mine] = useLoad(async () => (me ? myReports() : null), [me?.name, reloadKey]);
  const list = mine.value?.features ?? [];
  if (list.length === 0) return <section class="my-reports" />;
  return (
    <section class="my-reports">
      <h3>{t().myReports}</h3>
      <ul class="inbox-list">
        {list.slice(0, MY_REPORTS_SHOWN).map((f) => (
          <li key={f.properties.id} class="inbox-item" data-problem={f.properties.id}>
            <span>{problemCategory(f, cats)}</span>
            <StatusBadge status={f.properties.status} />
            <span class="muted">{formatTime(f.properties.reported_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ReportView({ app }: ViewProps) {
  const d = t();
  const { map, cats, problems } = app;
  const [at, setAt] = useState<{ ll: [number, number]; accuracy: number | null } | null>(null);
  const [locating, setLocating] = useState(false);
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('medium');
  const [photo, setPhoto] = useState<Blob | null>(null);
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<Partial<Record<FieldName, unknown>>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ created: ProblemFeature; warning: string | null } | null>(null);
  const [mineKey, setMineKey] = useState(0);
  const marker = useRef<maplibregl.Marker | null>(null);
  const resultRef = useRef<HTMLDivElement>(null);
  const ids = { category: useId('cat'), severity: useId('sev'), description: useId('desc') };

  const setError = (field: FieldName, e: unknown) => setErrors((x) => ({ ...x, [field]: e }));
  const clearError = (field: FieldName) => setErrors((x) => ({ ...x, [field]: null }));

  // The marker (draggable) and a tap on the map set the location.
  useProblemLayer(app, false, null);
  useEffect(() => {
    problems.setFilter({});
    const m = new maplibregl.Marker({ color: '#dc2626', draggable: true });
    marker.current = m;
    m.on('dragend', () => {
      const ll = m.getLngLat();
      setAt({ ll: [ll.lng, ll.lat], accuracy: null });
    });
    const onClick = (e: maplibregl.MapMouseEvent) => setAt({ ll: [e.lngLat.lng, e.lngLat.lat], accuracy: null });
    map.on('click', onClick);
    map.getCanvas().style.cursor = 'crosshair';
    return () => {
      map.off('click', onClick);
      m.remove();
      map.getCanvas().style.cursor = '';
    };
  }, []);

  useEffect(() => {
    if (at) {
      marker.current?.setLngLat(at.ll).addTo(map);
      clearError('location');
    } else marker.current?.remove();
  }, [at]);

  const locate = () => {
    clearError('location');
    if (!('geolocation' in navigator)) {
      setError('location', d.geo.unsupported);
      return;
    }
    setLocating(true);
    // The W3C Geolocation API answers WGS-84, which is what the server stores.
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        setLocating(false);
        setAt({ ll: [pos.coords.longitude, pos.coords.latitude], accuracy: pos.coords.accuracy });
        map.easeTo({ center: [pos.coords.longitude, pos.coords.latitude], zoom: Math.max(map.getZoom(), 17) });
      },
      (err) => {
        setLocating(false);
        setError('location', geolocationText(err));
      },
      GEO_OPTIONS,
    );
  };

  const reset = () => {
    setAt(null);
    setCategory('');
    setSeverity('medium');
    setPhoto(null);
    setDescription('');
    setDone(null);
    problems.select(null);
  };

  const send = async (ev: Event) => {
    ev.preventDefault();
    const missing: Partial<Record<FieldName, unknown>> = {};
    if (!at) missing.location = d.noLocation;
    if (!category) missing.category = d.pickCategory;
    setErrors(missing);
    setDone(null);
    if (!at || !category) return;
    setBusy(true);
    const signedIn = !!session.value;
    const body: NewProblem = {
      lon: Number(at.ll[0].toFixed(7)),
      lat: Number(at.ll[1].toFixed(7)),
      category,
      severity,
      description: description.trim(),
    };
    try {
      let warning: string | null = null;
      if (photo) {
        if (await has('/api/v1/photos')) {
          try {
            body.photos = [(await uploadPhoto(photo, signedIn)).id];
          } catch (e) {
            // The photo's own errors (too large, a format the server does not read) belong beside it.
            setError(fieldOf(e) === 'body' ? 'photos' : fieldOf(e), e);
            return;
          }
        } else warning = d.photoNotSent;
      }
      const created = await createProblem(body, signedIn);
      problems.upsert(created);
      problems.select(created);
      setAt(null);
      setDone({ created, warning });
      setMineKey((k) => k + 1);
      queueMicrotask(() => resultRef.current?.scrollIntoView({ block: 'nearest' }));
    } catch (e) {
      setError(fieldOf(e), e);
    } finally {
      setBusy(false);
    }
  };

  // The first field with an error scrolls into view.
  useEffect(() => {
    document.querySelector('.report-form .field-error:not(:empty)')?.scrollIntoView({ block: 'nearest' });
  }, [errors]);

  return (
    <>
      <form class="report-form" noValidate onSubmit={(e) => void send(e)}>
        <h2 class="panel-title">{d.reportTitle}</h2>
        <Field name="location" label={d.location} error={errors.location}>
          <div class="loc-row">
            <button type="button" class="btn secondary" name="locate" disabled={locating} onClick={locate}>
              {locating ? d.locating : d.useMyLocation}
            </button>
            <span class="muted">{d.tapMap}</span>
          </div>
          <p class={`loc-text${at ? '' : ' muted'}`}>
            {at ? d.selectedAt(at.ll[0].toFixed(6), at.ll[1].toFixed(6)) + (at.accuracy !== null ? ` · ${d.accuracy(Math.round(at.accuracy))}` : '') : d.reportHint}
          </p>
        </Field>
        <Field name="category" label={d.category} for={ids.category} error={errors.category}>
          <select
            id={ids.category}
            name="category"
            required
            value={category}
            onChange={(e) => {
              setCategory(e.currentTarget.value);
              clearError('category');
            }}
          >
            <option value="">{d.pickCategory}</option>
            {cats.map((c) => (
              <option key={c.code} value={c.code}>
                {categoryName(c)}
              </option>
            ))}
          </select>
        </Field>
        <Field name="severity" label={d.severity} for={ids.severity} error={errors.severity}>
          <select id={ids.severity} name="severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {severityName(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field name="photos" label={d.photo} error={errors.photos}>
          <PhotoPicker
            name="photo"
            photo={photo}
            onChange={(b) => {
              setPhoto(b);
              clearError('photos');
            }}
          />
        </Field>
        <Field name="description" label={d.description} for={ids.description} error={errors.description}>
          <textarea
            id={ids.description}
            name="description"
            rows={3}
            maxLength={2000}
            placeholder={d.descriptionPlaceholder}
            value={description}
            onInput={(e) => {
              setDescription(e.currentTarget.value);
              clearError('description');
            }}
          />
        </Field>
        <ErrorText error={errors.body} for="body" />
        <button type="submit" class="btn primary" name="submit" disabled={busy}>
          {busy ? d.submitting : d.submit}
        </button>
        <div class="result" aria-live="polite" ref={resultRef}>
          {done && (
            <>
              <p class="success" data-created={done.created.properties.id}>
                {d.submitted}
              </p>
              {done.warning && <p class="warning">{done.warning}</p>}
              <button type="button" class="btn secondary" onClick={reset}>
                {d.reportAnother}
              </button>
            </>
          )}
        </div>
      </form>
      <MyReports cats={cats} reloadKey={mineKey} />
    </>
  );
}
