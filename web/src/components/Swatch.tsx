import { categoryColor } from '../colors';

/** A category's colour dot. */
export function Swatch({ category, big = false }: { category: string; big?: boolean }) {
  return <span class={`swatch${big ? ' big' : ''}`} style={{ background: categoryColor(category) }} />;
}
