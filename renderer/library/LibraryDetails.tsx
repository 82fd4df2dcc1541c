import { useState } from 'react';
import type { LibraryImage } from '../../shared/api/contract';
import { formatBytes } from './LibraryTable';
import type { LibraryModel } from './library-model';

/** One selected image in full: where it is, what it holds, its problems, and the user's tags and notes on it. */
export function LibraryDetails({ library, image }: { library: LibraryModel; image: LibraryImage }) {
  const [note, setNote] = useState('');
  const row = library.store.get().rows.find((r) => r.image.id === image.id);
  return (
    <aside className="library-details" aria-label="Selected image" data-testid="library-details">
      <h2 title={image.path}>{image.path.split(/[/\\]/).pop()}</h2>
      <p className="mono path">{image.path}</p>
      <dl>
        <dt>Status</dt>
        <dd>
          {image.status}
          {image.statusDetail ? `: ${image.statusDetail}` : ''}
        </dd>
        <dt>Format</dt>
        <dd>{[image.format, image.wrapper].filter(Boolean).join(' · ') || '-'}</dd>
        <dt>Machine</dt>
        <dd>
          {image.machineType ?? '-'}
          {image.qemuVersion ? ` · QEMU ${image.qemuVersion}` : ''}
        </dd>
        <dt>RAM</dt>
        <dd>{image.ramBytes === null ? '-' : formatBytes(image.ramBytes)}</dd>
        <dt>Devices</dt>
        <dd>{image.devices.join(', ') || '-'}</dd>
        <dt>Problems</dt>
        <dd>
          {image.problems.length ? (
            <ul className="plain">
              {image.problems.map((p) => (
                <li key={`${p.severity}:${p.code}`} className={`sev-${p.severity}`}>
                  {p.severity}: {p.code}
                </li>
              ))}
            </ul>
          ) : (
            'none'
          )}
        </dd>
        <dt>Tags</dt>
        <dd data-testid="detail-tags">
          {image.tags.length
            ? image.tags.map((t) => (
                <span key={t} className="tag-chip">
                  {t}
                  <button onClick={() => row && void library.tag([row], t, true)} aria-label={`Remove tag ${t}`} title={`Remove tag ${t}`}>
                    ×
                  </button>
                </span>
              ))
            : 'none'}
        </dd>
      </dl>
      <h3>Notes</h3>
      <ul className="plain notes" data-testid="detail-notes">
        {image.userNotes.map((n) => (
          <li key={n.id} className="note">
            <span className="hint">{n.createdAt.replace('T', ' ').slice(0, 16)}</span> {n.text}
            <button onClick={() => void library.deleteNote(image, n.id)} aria-label={`Delete note: ${n.text.slice(0, 40)}`} title="Delete this note">
              ×
            </button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void library.addNote(image, note).then((ok) => ok && setNote(''));
        }}
      >
        <textarea value={note} onChange={(e) => setNote(e.target.value)} aria-label="New note" placeholder="A note on this image (kept in the library, follows the file when renamed)" rows={3} />
        <button type="submit" disabled={!note.trim()}>
          Add note
        </button>
      </form>
    </aside>
  );
}
