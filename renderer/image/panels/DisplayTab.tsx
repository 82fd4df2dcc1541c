import { useEffect } from 'react';
import type { DecodedItem, DisplayView } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { useStore } from '../../state/store';
import { useImageView, useViewState } from '../view-context';

/**
 * The guest's screen as `migwb screen` draws it, the mode and where its bytes are, and the
 * display device's registers by meaning (`migwb dump --decoded`) beside it: a register
 * with a stream offset shows its raw field in the hex view and the structure tree.
 */
export function DisplayTab() {
  const view = useImageView();
  const display = view.display;
  const revision = useViewState((s) => s.image.revision);
  const request = useStore(display.store, (s) => s.request);
  const shown = useStore(display.store, (s) => s.view);
  const error = useStore(display.store, (s) => s.error);
  const loading = useStore(display.store, (s) => s.loading);
  useEffect(() => void display.load(revision), [display, revision, request]);
  if (error) return <p className="hint pad">{error}</p>;
  if (!shown) return <p className="hint pad">Drawing the screen…</p>;
  return (
    <div className="display-tab" data-testid="display-tab" aria-busy={loading}>
      <div className="display-screen">
        <div className="display-bar" role="toolbar" aria-label="Screen">
          {shown.devices.length > 1 && (
            <select aria-label="Display device" value={shown.device ? `${shown.device.idstr}:${shown.device.instance}` : ''} onChange={(e) => display.choose({ device: e.target.value })}>
              {shown.devices.map((d) => (
                <option key={`${d.idstr}:${d.instance}`} value={`${d.idstr}:${d.instance}`}>
                  {d.name} ({d.idstr})
                </option>
              ))}
            </select>
          )}
          <select aria-label="Draw as QEMU" value={request.drawing} onChange={(e) => display.choose({ drawing: e.target.value as '7.2' | '10.0' })} title="Where QEMU 7.2 and 9.0+ draw VGA modes differently (pel panning, the 256 KiB wrap)">
            <option value="10.0">as QEMU 9.0+</option>
            <option value="7.2">as QEMU 7.2</option>
          </select>
        </div>
        {shown.png ? (
          <img className="display-picture" data-testid="display-picture" src={`data:image/png;base64,${shown.png}`} width={shown.width ?? undefined} height={shown.height ?? undefined} alt={`The guest's screen: ${shown.mode?.description ?? ''}`} />
        ) : (
          <p className="display-reason" data-testid="display-reason">
            No picture: {shown.reason}
          </p>
        )}
        <ModeDescription shown={shown} />
      </div>
      <div className="display-decoded" data-testid="display-decoded" aria-label="Display state decoded">
        {shown.decoded ? (
          <>
            <div className="panel-subtitle">
              {shown.decoded.title} <span className="hint mono">{shown.decoded.section}</span>
            </div>
            <DecodedItems items={shown.decoded.items} depth={0} />
          </>
        ) : (
          <p className="hint">{shown.decodedProblem ?? 'No display device section to decode.'}</p>
        )}
        {shown.channels.map((channel) => (
          <section key={channel.section} data-testid="display-channel" aria-label={channel.title}>
            <div className="panel-subtitle">
              {channel.title} <span className="hint mono">{channel.section}</span>
            </div>
            <DecodedItems items={channel.items} depth={0} />
          </section>
        ))}
      </div>
    </div>
  );
}

/** What `migwb screen` prints: the device, the mode, where the bytes are, and notes. */
function ModeDescription({ shown }: { shown: DisplayView }) {
  const { device, mode } = shown;
  return (
    <dl className="display-mode" data-testid="display-mode">
      <dt>device</dt>
      <dd>{device ? `${device.name} (${device.idstr})` : 'none'}</dd>
      {mode && (
        <>
          <dt>mode</dt>
          <dd>{mode.description}</dd>
          <dt>size</dt>
          <dd>
            {shown.width !== null ? `${shown.width}×${shown.height} pixels` : `${mode.width}×${mode.height}`}, {mode.depth} bits per pixel
          </dd>
        </>
      )}
      {shown.sources.map((s, i) => (
        <SourceRow key={i} what={s.what} at={`${s.block}+${hexOffset(s.offset)}, ${s.length.toLocaleString()} bytes${s.gpa !== undefined ? ` (guest-physical ${hexOffset(s.gpa)})` : ''}`} />
      ))}
      {shown.notes.map((n, i) => (
        <SourceRow key={`n${i}`} what="note" at={n} />
      ))}
      {shown.reason && shown.png === null && <SourceRow what="no picture" at={shown.reason} />}
      <dt>drawn as</dt>
      <dd>QEMU {shown.drawnAs === '7.2' ? '7.2' : '9.0 and later'}</dd>
    </dl>
  );
}

function SourceRow({ what, at }: { what: string; at: string }) {
  return (
    <>
      <dt>{what === 'note' || what === 'no picture' ? what : 'source'}</dt>
      <dd>{what === 'note' || what === 'no picture' ? at : `${what}: ${at}`}</dd>
    </>
  );
}

/** The decoded state as a tree: groups open at the top level, every value with its meaning and, when it has one, a link to its raw field. */
function DecodedItems({ items, depth }: { items: readonly DecodedItem[]; depth: number }) {
  const view = useImageView();
  return (
    <ul className="decoded-items">
      {items.map((it, i) => {
        const line = (
          <>
            <span className="decoded-label">{it.label}</span>
            {it.value !== undefined && <span className="decoded-value mono">{it.value}</span>}
            {it.meaning && <span className="decoded-meaning">{it.meaning}</span>}
            {it.problem && <span className="decoded-problem sev-warning">{it.problem}</span>}
            {it.offset !== undefined && (
              <button className="link mono" title="Show the raw field in the hex view and the structure tree" onClick={() => void view.goToOffset(it.offset!, true, 'stream')}>
                {hexOffset(it.offset)}
              </button>
            )}
            {it.gpa !== undefined && <span className="hint mono">gpa {hexOffset(it.gpa)}</span>}
          </>
        );
        return it.children?.length ? (
          <li key={i}>
            <details open={depth === 0 && it.children.length <= 32}>
              <summary>{line}</summary>
              <DecodedItems items={it.children} depth={depth + 1} />
            </details>
          </li>
        ) : (
          <li key={i} className="decoded-leaf">
            {line}
          </li>
        );
      })}
    </ul>
  );
}
