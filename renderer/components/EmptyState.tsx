/** What a new user sees before opening anything: what to do next. */
export function EmptyState({ onOpen, onLibrary }: { onOpen(): void; onLibrary(): void }) {
  return (
    <div className="empty" data-testid="empty-state">
      <div className="card">
        <h2>No image open</h2>
        <p>Open a QEMU migration stream (a file written by <code>migrate exec:</code>/<code>file:</code> or <code>savevm</code>) to see its sections, devices, fields and guest RAM byte by byte.</p>
        <div className="actions">
          <button className="primary" onClick={onOpen}>
            Open image…
          </button>
          <button onClick={onLibrary}>Go to the library</button>
        </div>
        <p className="hint">Ctrl+O opens an image. You can also drop an image file on this window (desktop app), give paths to <code>migwb serve</code>, or index whole folders in the library.</p>
      </div>
    </div>
  );
}
