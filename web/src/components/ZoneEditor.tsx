// Drawing a new zone (an area polygon, a road stretch as a line buffered by a width, a point
// with a radius) or a school, park or wet market OpenStreetMap lacks (a point or an outline; the
// server makes its three-surroundings zone at once), or editing an existing zone's outline and
// name. The drawing itself is terra-draw's, through the set-up layer.

import { useEffect, useState } from 'preact/hooks';
import type { Geometry, MultiPolygon, Polygon } from 'geojson';
import { ApiError, createPoi, createZone, putZone } from '../api';
import type { ZoneFeature, ZoneIn } from '../api';
import { useId } from '../hooks';
import { t } from '../i18n';
import type { DrawShape, SetupLayer } from '../map/setuplayer';
import { ErrorText } from './ErrorText';
import { Field } from './Field';

/** What can be drawn, in the order of the list. */
const WHATS = ['area', 'road', 'point', 'school', 'park', 'market'] as const;
type What = (typeof WHATS)[number];
const POI_KINDS: readonly string[] = ['school', 'park', 'market'];

/** Default half width of a road stretch, m (a two-lane road with its pavements). */
const DEFAULT_WIDTH_M = 15;
/** Default radius of a point zone, m (a gate or an entrance). */
const DEFAULT_RADIUS_M = 30;

function shapeOf(what: What, outline: boolean): DrawShape {
  if (what === 'area') return 'polygon';
  if (what === 'road') return 'linestring';
  if (what === 'point') return 'point';
  return outline ? 'polygon' : 'point';
}

export function ZoneEditor(props: {
  layer: SetupLayer;
  /** The zone whose outline and name are edited; `null` draws a new one. */
  editing: ZoneFeature | null;
  onSaved: (message: string, zone: string | null) => void;
  onCancel: () => void;
}) {
  const d = t();
  const { layer, editing } = props;
  const ids = { what: useId('what'), name: useId('zone-name'), width: useId('width'), radius: useId('radius'), outline: useId('outline') };
  const [what, setWhat] = useState<What>('area');
  const [outline, setOutline] = useState(false);
  const [name, setName] = useState(editing?.properties.name ?? '');
  const [width, setWidth] = useState(String(DEFAULT_WIDTH_M));
  const [radius, setRadius] = useState(String(DEFAULT_RADIUS_M));
  const [geometry, setGeometry] = useState<Geometry | null>(null);
  const [drawing, setDrawing] = useState<DrawShape | 'edit' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    layer.onDrawn = (g) => {
      setGeometry(g);
      setError(null);
    };
    if (editing) {
      setGeometry(layer.startEditing(editing));
      setDrawing('edit');
    }
    return () => {
      layer.onDrawn = null;
      layer.stopDrawing();
    };
  }, []);

  const draw = () => {
    const shape = shapeOf(what, outline);
    setGeometry(null);
    setError(null);
    setDrawing(null);
    // The hint shows once the drawing tool is loaded and listening.
    void layer.startDrawing(shape).then(() => setDrawing(shape));
  };
  // A new kind or way of drawing starts over.
  const change = (f: () => void) => {
    f();
    if (!editing) {
      layer.stopDrawing();
      setGeometry(null);
      setDrawing(null);
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!geometry) {
      setError(d.setup.notDrawn);
      return;
    }
    setBusy(true);
    try {
      const trimmed = name.trim();
      if (editing) {
        const p = editing.properties;
        // The edited outline replaces the largest part; other parts of a multipolygon stay.
        let g: Polygon | MultiPolygon = geometry as Polygon;
        if (editing.geometry.type === 'MultiPolygon' && editing.geometry.coordinates.length > 1) {
          const parts = [...editing.geometry.coordinates].sort((a, b) => (b[0]?.length ?? 0) - (a[0]?.length ?? 0));
          g = { type: 'MultiPolygon', coordinates: [(geometry as Polygon).coordinates, ...parts.slice(1)] };
        }
        const body: ZoneIn = {
          type: 'Feature',
          geometry: g,
          properties: { kind: p.kind, name: trimmed, poi_kind: p.poi_kind ?? null, poi: p.poi ?? null, code: p.code ?? null, external_id: p.external_id ?? null },
        };
        await putZone(p.id, body);
        props.onSaved(d.setup.saved(trimmed), p.id);
      } else if (POI_KINDS.includes(what)) {
        const poi = await createPoi({ type: 'Feature', geometry, properties: { kind: what, name: trimmed } });
        props.onSaved(d.setup.poiSaved(trimmed), poi.properties.surroundings_zone ?? null);
      } else {
        const buffer = what === 'road' ? Number(width) : what === 'point' ? Number(radius) : null;
        const body: ZoneIn = { type: 'Feature', geometry, properties: { kind: what, name: trimmed, ...(buffer === null ? {} : { buffer_m: buffer }) } };
        const z = await createZone(body);
        props.onSaved(d.setup.saved(trimmed), z.properties.id ?? String(z.id ?? ''));
      }
    } catch (x) {
      setError(x);
    } finally {
      setBusy(false);
    }
  };

  // An error about the name shows beside it; others under the form.
  const nameError = error instanceof ApiError && error.field === 'name' ? error : null;
  // The hint until the shape is drawn (while editing, all along).
  const hint = drawing === 'edit' ? d.setup.hints.edit : drawing && !geometry ? d.setup.hints[drawing] : null;
  return (
    <form class="zone-editor" onSubmit={(e) => void save(e)} noValidate>
      <h3>{editing ? `${d.setup.edit}：${editing.properties.name}` : d.setup.newZone}</h3>
      {!editing && (
        <Field name="what" label={d.setup.what} for={ids.what}>
          <select id={ids.what} name="what" value={what} onChange={(e) => change(() => setWhat(e.currentTarget.value as What))}>
            {WHATS.map((w) => (
              <option key={w} value={w}>
                {d.setup.shapes[w]}
              </option>
            ))}
          </select>
        </Field>
      )}
      {!editing && POI_KINDS.includes(what) && (
        <label class="toggle" for={ids.outline}>
          <input id={ids.outline} type="checkbox" name="outline" checked={outline} onChange={(e) => change(() => setOutline(e.currentTarget.checked))} />
          {d.setup.outline}
        </label>
      )}
      <Field name="zone-name" label={d.setup.name} for={ids.name} error={nameError} context="zone">
        <input id={ids.name} name="zone-name" type="text" maxLength={200} placeholder={d.setup.namePlaceholder} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      {!editing && what === 'road' && (
        <Field name="width" label={d.setup.width} for={ids.width}>
          <input id={ids.width} name="width" type="number" min="1" max="500" step="1" value={width} onInput={(e) => setWidth(e.currentTarget.value)} />
        </Field>
      )}
      {!editing && what === 'point' && (
        <Field name="radius" label={d.setup.radius} for={ids.radius}>
          <input id={ids.radius} name="radius" type="number" min="1" max="500" step="1" value={radius} onInput={(e) => setRadius(e.currentTarget.value)} />
        </Field>
      )}
      {hint && <p class="note draw-hint">{hint}</p>}
      {geometry && drawing !== 'edit' && <p class="success drawn">{d.setup.drawn}</p>}
      <div class="action-row">
        {!editing && (
          <button type="button" name="draw" class="btn secondary small" onClick={draw}>
            {geometry || drawing ? d.setup.redraw : d.setup.draw}
          </button>
        )}
        <button type="submit" name="save-zone" class="btn primary small" disabled={busy}>
          {busy ? d.setup.saving : d.setup.save}
        </button>
        <button type="button" name="cancel" class="btn secondary small" onClick={props.onCancel}>
          {d.setup.cancel}
        </button>
      </div>
      <ErrorText error={nameError ? null : error} for="zone-editor" context="zone" />
    </form>
  );
}
