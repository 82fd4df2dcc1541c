import type { DiffOffset } from '../../shared/api/image-diff';
import { hexOffset } from '../api';
import { useStore } from '../state/store';
import type { CompareView } from './compare-view';

const at = (o: DiffOffset | undefined) => (o ? hexOffset(o.file ?? o.stream) : '');

/**
 * Every difference the diff found, one row each: header facts, sections only on one side,
 * and each differing field with both values and both offsets (file offsets where the file
 * holds the byte as it is, else stream offsets). A row shows its place on both sides.
 */
export function DifferenceTable({ compare }: { compare: CompareView }) {
  const diff = useStore(compare.store, (s) => s.diff);
  const selectedRow = useStore(compare.store, (s) => s.selectedRow);
  if (!diff) return <div className="pad hint">Comparing…</div>;
  const row = (key: string) => ({ 'data-testid': 'diff-row', 'data-key': key, 'aria-selected': selectedRow === key, className: `diff-row${selectedRow === key ? ' selected' : ''}` });
  return (
    <div className="diff-table" role="grid" aria-label="Differences">
      <div className="diff-row diff-head" role="row">
        <span>Section</span>
        <span>Field</span>
        <span>Change</span>
        <span>A</span>
        <span>A offset</span>
        <span>B</span>
        <span>B offset</span>
      </div>
      {diff.header.map((h) => (
        <div key={`h:${h.what}`} role="row" {...row(`header:${h.what}`)}>
          <span>header</span>
          <span>{h.what}</span>
          <span>changed</span>
          <span className="mono">{h.a}</span>
          <span className="mono">{at(h.offsetA)}</span>
          <span className="mono">{h.b}</span>
          <span className="mono">{at(h.offsetB)}</span>
        </div>
      ))}
      {diff.sectionsRemoved.map((s) => (
        <div key={`r:${s.name}`} role="row" {...row(s.name)} onClick={() => compare.showSection({ name: s.name, a: s })}>
          <span>{s.name}</span>
          <span />
          <span className="change-removed">only in A</span>
          <span>{s.type}</span>
          <span className="mono">{at(s.offset)}</span>
          <span />
          <span />
        </div>
      ))}
      {diff.sectionsAdded.map((s) => (
        <div key={`a:${s.name}`} role="row" {...row(s.name)} onClick={() => compare.showSection({ name: s.name, b: s })}>
          <span>{s.name}</span>
          <span />
          <span className="change-added">only in B</span>
          <span />
          <span />
          <span>{s.type}</span>
          <span className="mono">{at(s.offset)}</span>
        </div>
      ))}
      {diff.sectionsChanged.flatMap((s) => [
        ...(s.versionChanged || s.note || !s.fields.length
          ? [
              <div key={`s:${s.name}`} role="row" {...row(s.name)} onClick={() => compare.showSection(s)}>
                <span>{s.name}</span>
                <span className="hint">{s.note ?? ''}</span>
                <span className="change-changed">{s.versionChanged ? 'version' : 'changed'}</span>
                <span className="mono">{s.versionChanged ? `v${s.versionChanged.a}` : `${s.a.length} bytes`}</span>
                <span className="mono">{at(s.a.offset)}</span>
                <span className="mono">{s.versionChanged ? `v${s.versionChanged.b}` : `${s.b.length} bytes`}</span>
                <span className="mono">{at(s.b.offset)}</span>
              </div>,
            ]
          : []),
        ...s.fields.map((f) => (
          <div key={`f:${s.name}.${f.path}`} role="row" {...row(`${s.name}.${f.path}`)} onClick={() => compare.showField(s, f)}>
            <span>{s.name}</span>
            <span className="mono">{f.path}</span>
            <span className={`change-${f.change}`}>{f.change}</span>
            <span className="mono" title={f.valueA}>
              {f.valueA ?? ''}
            </span>
            <span className="mono">{at(f.offsetA)}</span>
            <span className="mono" title={f.valueB}>
              {f.valueB ?? ''}
            </span>
            <span className="mono">{at(f.offsetB)}</span>
          </div>
        )),
      ])}
      {diff.vmdesc.map((v) => (
        <div key={`v:${v.section}.${v.path}`} role="row" {...row(`vmdesc:${v.section}.${v.path}`)}>
          <span>{v.section}</span>
          <span className="mono">{v.path}</span>
          <span>vmdesc</span>
          <span className="mono">{v.a ?? ''}</span>
          <span />
          <span className="mono">{v.b ?? ''}</span>
          <span />
        </div>
      ))}
      {diff.framing.map((f) => (
        <div key={`fr:${f.what}`} role="row" className="diff-row framing" data-testid="framing-row">
          <span>framing</span>
          <span>{f.what}</span>
          <span className="hint">not content</span>
          <span className="mono">{f.a}</span>
          <span />
          <span className="mono">{f.b}</span>
          <span />
        </div>
      ))}
      {diff.equalInContent && <div className="pad hint">The two images are equal in content{diff.framing.length ? '; only their framing differs (above)' : ''}.</div>}
    </div>
  );
}
