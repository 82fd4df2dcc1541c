import { useEffect } from 'react';
import { PAGE_STATE_CODES, type MemoryMapRow, type PageState } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { useImageView, useMemoryState } from '../view-context';

const STATES: { state: PageState; label: string; title: string }[] = [
  { state: 'present', label: 'present', title: 'the page’s bytes are stored in a PAGE (or mapped-ram) record' },
  { state: 'compressed', label: 'compressed', title: 'stored zlib-compressed (COMPRESS_PAGE); read inflated' },
  { state: 'xbzrle', label: 'XBZRLE', title: 'last sent as an XBZRLE delta; read replayed on the earlier copy' },
  { state: 'zero', label: 'zero', title: 'a ZERO record: the page reads as zeros' },
  { state: 'never-sent', label: 'never sent', title: 'no record sends the page: the destination keeps zeros' },
];
const STATE_OF_CODE = Object.fromEntries(STATES.map((s) => [PAGE_STATE_CODES[s.state], s.state])) as Record<string, PageState>;

/** The guest's physical memory at a glance: regions and the holes between them, unmapped blocks, and the state of every page. */
export function MemoryMapTab() {
  const memory = useImageView().memory;
  const map = useMemoryState((s) => s.map);
  const error = useMemoryState((s) => s.mapError);
  useEffect(() => void memory.loadMap(), [memory]);
  if (error) return <p className="hint pad">{error}</p>;
  if (!map) return <p className="hint pad">Reading the guest’s memory map…</p>;
  const go = (row: MemoryMapRow, fraction: number) => {
    const page = map.pageSize;
    const at = Math.floor((row.size * fraction) / page) * page;
    if (row.gpa !== null && map.hasLayout) void memory.goTo(row.gpa + at, { block: null });
    else if (row.block) void memory.goTo((row.blockOffset ?? 0) + at, { block: row.block });
  };
  return (
    <div className="memory-map" data-testid="memory-map">
      <div className="map-legend">
        <span className="hint">{map.rule}</span>
        {STATES.map((s) => (
          <span key={s.state} title={s.title}>
            <i className={`ps ps-${PAGE_STATE_CODES[s.state]}`} /> {s.label}
          </span>
        ))}
        <span title="guest-physical addresses where no RAM block is mapped (MMIO, the VGA window, the PCI hole)">
          <i className="ps ps-hole" /> hole
        </span>
      </div>
      {map.rows.map((row, i) => (
        <div key={i} className={`map-row map-${row.kind}`} data-kind={row.kind} data-gpa={row.gpa ?? undefined} data-block={row.block}>
          <span className="map-range mono">{row.gpa !== null ? `${hexOffset(row.gpa)}–${hexOffset(row.gpa + row.size - 1)}` : 'not mapped'}</span>
          <span className="map-what" title={row.why}>
            {row.kind === 'hole' ? 'hole' : row.block}
            {row.readOnly ? ' (read-only)' : ''} · {formatSize(row.size)} · <span className="hint">{row.why}</span>
          </span>
          {row.cells ? (
            <span className="map-cells" role="img" aria-label={`${row.block}: ${counts(row)}`} title={counts(row)}>
              {[...row.cells].map((c, k, all) => (
                <i key={k} className={`ps ps-${c}`} title={`${STATE_OF_CODE[c]} · click to show it`} onClick={() => go(row, k / all.length)} />
              ))}
            </span>
          ) : (
            <span className="map-cells">
              <i className="ps ps-hole wide" />
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

function counts(row: MemoryMapRow): string {
  return STATES.filter((s) => row.pages![s.state] > 0).map((s) => `${row.pages![s.state].toLocaleString()} ${s.label}`).join(', ');
}

function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  return `${v.toLocaleString()} ${units[u]}`;
}
