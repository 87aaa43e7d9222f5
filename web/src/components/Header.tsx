// The top bar: the name, a link per view (carrying the map position and the language), and the
// language switch.

import type { Signal } from '@preact/signals';
import type { FunctionComponent } from 'preact';
import type { ViewProps } from '../app';
import { lang, t } from '../i18n';
import type { Dict } from '../i18n';

/** The link to a view, with the map position and the language of this one. */
function href(route: string, map: string | null): string {
  const q = new URLSearchParams();
  if (map) q.set('map', map);
  if (lang() !== 'zh') q.set('lang', lang());
  const qs = q.toString().replace(/%2F/gi, '/');
  return route ? `#/${route}${qs ? `?${qs}` : ''}` : `#${qs}`;
}

export function Header(props: {
  views: Record<string, { view: FunctionComponent<ViewProps>; nav: (d: Dict) => string }>;
  route: () => string;
  mapParam: Signal<string | null>;
  onLang: () => void;
}) {
  const d = t();
  const current = props.route();
  return (
    <>
      <h1 class="brand">
        <span class="logo" aria-hidden="true">
          ◉
        </span>
        {d.appTitle}
      </h1>
      <nav class="nav">
        {Object.entries(props.views).map(([route, v]) => (
          <a
            key={route}
            href={href(route, props.mapParam.value)}
            data-route={route || 'map'}
            class={route === current ? 'active' : undefined}
            aria-current={route === current ? 'page' : undefined}
          >
            {v.nav(d)}
          </a>
        ))}
      </nav>
      <button type="button" class="lang" lang={lang() === 'zh' ? 'en' : 'zh'} onClick={props.onLang}>
        {d.langSwitch}
      </button>
    </>
  );
}
