// The chief's patrol (巡查) on the chief console: "开始巡查", then the time and distance walked,
// "已检查，无问题" for the zone picked (with an optional photo), and "结束巡查". What is recorded
// goes through the outbox, so it works without signal ("N 条待发送" as for reports).

import { useEffect, useState } from 'preact/hooks';
import type { ZoneFeature } from '../api';
import { t } from '../i18n';
import { beginPatrol, finishPatrol, markClean, patrol, patrolGeoError, resumeWatch, walkedM } from '../patrol';
import { PhotoPicker } from './PhotoPicker';

/** How often the elapsed time is redrawn, ms. */
const TICK_MS = 1000;

/** `h:mm:ss` or `m:ss` of a duration in seconds. */
function clock(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function PatrolPanel({ user, zone }: { user: string; zone: ZoneFeature | undefined }) {
  const d = t().patrol;
  const p = patrol.value;
  const mine = p && p.user === user ? p : null;
  const [now, setNow] = useState(Date.now());
  const [photo, setPhoto] = useState<Blob | null>(null);
  const [photoKey, setPhotoKey] = useState(0);
  const [said, setSaid] = useState<string | null>(null);

  // A patrol in progress (after a reload too) keeps recording, and its clock runs.
  useEffect(() => {
    if (!mine) return undefined;
    resumeWatch();
    const timer = window.setInterval(() => setNow(Date.now()), TICK_MS);
    return () => window.clearInterval(timer);
  }, [mine?.id]);

  if (!mine) {
    return (
      <section class="patrol" data-patrol="idle">
        <button
          type="button"
          class="btn primary"
          name="patrol-start"
          onClick={() => {
            setSaid(null);
            void beginPatrol(user, d.startLabel);
          }}
        >
          {d.start}
        </button>
        {said && (
          <p class="success patrol-ended" role="status">
            {said}
          </p>
        )}
      </section>
    );
  }

  const elapsed = Math.max(0, (now - Date.parse(mine.startedAt)) / 1000);
  const last = mine.fixes[mine.fixes.length - 1];
  const checkedHere = zone ? mine.checked.includes(zone.properties.id) : false;
  return (
    <section class="patrol" data-patrol="on" data-patrol-id={mine.id}>
      <h3 class="patrol-title">{d.onGoing}</h3>
      <p class="patrol-figures">
        <span class="patrol-elapsed">{d.elapsed(clock(elapsed))}</span>
        <span class="patrol-distance" data-metres={Math.round(walkedM.value)}>
          {d.walked(Math.round(walkedM.value))}
        </span>
        <span class="muted patrol-fixes">{d.fixes(mine.fixes.length)}</span>
      </p>
      {patrolGeoError.value && <p class="warning patrol-geo">{patrolGeoError.value.code === 1 ? d.geoDenied : d.geoNone}</p>}
      {zone ? (
        <div class="patrol-check">
          <PhotoPicker key={photoKey} name="check-photo" label={d.photoOptional} photo={photo} onChange={setPhoto} buttonClass="small" />
          <button
            type="button"
            class="btn secondary"
            name="check-clean"
            onClick={() => {
              void markClean(zone.properties.id, d.checkLabel(zone.properties.name), photo, last ? [last.lon, last.lat] : null);
              setPhoto(null);
              setPhotoKey((k) => k + 1);
            }}
          >
            {d.clean}
          </button>
          {checkedHere && (
            <p class="note patrol-checked" data-zone={zone.properties.id}>
              {d.checked(zone.properties.name)}
            </p>
          )}
        </div>
      ) : (
        <p class="muted">{d.pickZone}</p>
      )}
      <p class="muted patrol-count">{d.checkedCount(mine.checked.length)}</p>
      <button
        type="button"
        class="btn danger"
        name="patrol-end"
        onClick={() => {
          const m = Math.round(walkedM.value);
          void finishPatrol(d.endLabel).then(() => setSaid(d.ended(m)));
        }}
      >
        {d.end}
      </button>
    </section>
  );
}
