// The street office edits the checklists of its mock inspections (测评细则): each item as what
// holds at a clean point, the point kinds it is checked at, the problem category a fail creates
// and its weight in the readiness score. An edit is stored over the data file's item of the same
// code (`PUT /api/v1/inspections/checklists/{code}`) and applies from the next inspection.

import { useId, useState } from 'preact/hooks';
import type { Category, ChecklistItem, Checklists } from '../api';
import { putChecklistItem } from '../api/inspections';
import { lang, t } from '../i18n';
import { ErrorText } from './ErrorText';
import { Field } from './Field';

/** A new item's code: the clerk never types one, and it must be unique and `a-z0-9_`. */
function newCode(): string {
  return `item_${Date.now().toString(36)}`;
}

const blank = (): ChecklistItem => ({ code: newCode(), zh: '', en: '', kinds: [], categories: [], weight: 1 });

/** The form for one item; `onSaved` gets the stored item. */
function ItemForm({ item, lists, cats, onSaved, onCancel }: { item: ChecklistItem; lists: Checklists; cats: Category[]; onSaved: (i: ChecklistItem) => void; onCancel: () => void }) {
  const d = t();
  const w = d.readiness;
  const [draft, setDraft] = useState<ChecklistItem>(item);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { zh: useId(), category: useId(), weight: useId() };
  const name = (c: Category) => (lang() === 'en' ? c.en : c.zh);
  const [primary = '', ...more] = draft.categories;
  const toggle = (list: string[], code: string, on: boolean) => (on ? [...list, code] : list.filter((x) => x !== code));
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      // The English name is for an English console; a Chinese clerk leaves it to the Chinese one.
      const stored = await putChecklistItem({ ...draft, zh: draft.zh.trim(), en: draft.en.trim() || draft.zh.trim() });
      onSaved(stored);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const errorOf = (field: string) => (error && (error as { field?: string }).field === field ? error : null);
  const other = error && !['zh', 'kinds', 'categories', 'weight'].includes((error as { field?: string }).field ?? '') ? error : null;
  return (
    <form
      class="item-form"
      data-item={draft.code}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field name="zh" label={w.itemName} for={ids.zh} error={errorOf('zh')}>
        <input id={ids.zh} type="text" name="item-zh" maxLength={60} value={draft.zh} onInput={(e) => setDraft({ ...draft, zh: e.currentTarget.value })} />
      </Field>
      <Field name="kinds" label={w.itemKinds} error={errorOf('kinds')}>
        <div class="check-grid">
          {lists.kinds.map((k) => (
            <label key={k.code} class="check">
              <input type="checkbox" name="item-kind" value={k.code} checked={draft.kinds.includes(k.code)} onChange={(e) => setDraft({ ...draft, kinds: toggle(draft.kinds, k.code, e.currentTarget.checked) })} />
              {lang() === 'en' ? k.en : k.zh}
            </label>
          ))}
        </div>
      </Field>
      <Field name="categories" label={w.itemCategory} for={ids.category} error={errorOf('categories')}>
        <select id={ids.category} name="item-category" value={primary} onChange={(e) => setDraft({ ...draft, categories: [e.currentTarget.value, ...more.filter((c) => c !== e.currentTarget.value)] })}>
          <option value="" disabled>
            —
          </option>
          {cats.map((c) => (
            <option key={c.code} value={c.code}>
              {name(c)}
            </option>
          ))}
        </select>
      </Field>
      <Field name="more" label={w.itemMore}>
        <div class="check-grid">
          {cats
            .filter((c) => c.code !== primary)
            .map((c) => (
              <label key={c.code} class="check">
                <input type="checkbox" name="item-more" value={c.code} checked={more.includes(c.code)} onChange={(e) => setDraft({ ...draft, categories: [primary, ...toggle(more, c.code, e.currentTarget.checked)].filter(Boolean) })} />
                {name(c)}
              </label>
            ))}
        </div>
      </Field>
      <Field name="weight" label={w.itemWeight} for={ids.weight} error={errorOf('weight')}>
        <input id={ids.weight} type="number" name="item-weight" min={0.1} max={10} step={0.1} value={draft.weight} onInput={(e) => setDraft({ ...draft, weight: Number(e.currentTarget.value) })} />
      </Field>
      <div class="action-row">
        <button type="submit" class="btn primary small" name="save-item" disabled={busy}>
          {w.saveItem}
        </button>
        <button type="button" class="btn secondary small" name="cancel-item" onClick={onCancel}>
          {w.cancelItem}
        </button>
      </div>
      <ErrorText error={other} for="item" />
    </form>
  );
}

export function ChecklistEditor({ lists, cats, onChanged }: { lists: Checklists; cats: Category[]; onChanged: () => void }) {
  const d = t();
  const w = d.readiness;
  const [editing, setEditing] = useState<ChecklistItem | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const kindName = (code: string) => {
    const k = lists.kinds.find((x) => x.code === code);
    return k ? (lang() === 'en' ? k.en : k.zh) : code;
  };
  const catName = (code: string) => {
    const c = cats.find((x) => x.code === code);
    return c ? (lang() === 'en' ? c.en : c.zh) : code;
  };
  const open = (item: ChecklistItem) => {
    setSaved(null);
    setEditing(item);
  };
  return (
    <details class="checklist-editor">
      <summary>{w.checklist(lists.items.length)}</summary>
      <p class="muted">{w.checklistHint}</p>
      <table class="checklist">
        <thead>
          <tr>
            <th>{w.itemName}</th>
            <th>{w.itemKinds}</th>
            <th>{w.itemCategory}</th>
            <th>{w.itemWeightShort}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {lists.items.map((i) => (
            <tr key={i.code} data-item={i.code}>
              <td class="item-name">{lang() === 'en' ? i.en : i.zh}</td>
              <td>{i.kinds.map(kindName).join('、')}</td>
              <td>{i.categories.map(catName).join('、')}</td>
              <td>{i.weight}</td>
              <td class="item-edit">
                <button type="button" class="link" name="edit-item" onClick={() => open(i)}>
                  {w.editItem}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing === null ? (
        <button type="button" class="btn secondary small" name="new-item" onClick={() => open(blank())}>
          {w.newItem}
        </button>
      ) : (
        <ItemForm
          key={editing.code}
          item={editing}
          lists={lists}
          cats={cats}
          onCancel={() => setEditing(null)}
          onSaved={(i) => {
            setEditing(null);
            setSaved(w.savedItem(i.zh));
            onChanged();
          }}
        />
      )}
      {saved && (
        <p class="ok" role="status">
          {saved}
        </p>
      )}
    </details>
  );
}
