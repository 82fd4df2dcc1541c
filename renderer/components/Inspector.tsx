import { memo, useEffect, useState } from 'react';
import type { ByteSpace, FieldValue, PageOfRecord, TreeNode } from '../../shared/api/contract';
import { OffsetMap, type OffsetSpace } from '../../shared/api/offset-map';
import { inspectBytes } from '../../shared/inspect/data-inspector';
import { hexOffset } from '../api';
import { shortValue } from './StructureTree';

interface Props {
  node: TreeNode | null;
  cursor: number;
  /** The byte space the hex view (and so the cursor) is in. */
  space: ByteSpace;
  /** Absolute file offset of stream byte 0, when the stream is stored raw in the file. */
  streamBase: number | null;
  /** What stream offsets are in a wrapped image (file offsets, qcow2 vmstate, decompressed stream). */
  offsetSpace: OffsetSpace;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The selected field's address for edits ("cpu:0.env.eip"), when it is a decoded field. */
  fieldAddress: string | null;
  /** Edits are made in the stream, and not while one is running. */
  canEdit: boolean;
  onSetField(address: string, value: string): void;
  onOverwrite(offset: number, hex: string): void;
  /** Shows a guest address (or a block offset, for blocks the machine does not map) in the memory view. */
  onShowGuest(where: { gpa: number } | { block: string; offset: number }): void;
}

/** The selected node (its bytes, type and value) and the bytes at the cursor read as every type. */
export const Inspector = memo(function Inspector({ node, cursor, space, streamBase, offsetSpace, read, fieldAddress, canEdit, onSetField, onOverwrite, onShowGuest }: Props) {
  const [bytes, setBytes] = useState<Uint8Array | null>(null);
  useEffect(() => {
    let live = true;
    read(cursor, 16).then((b) => live && setBytes(b), () => live && setBytes(null));
    return () => {
      live = false;
    };
  }, [cursor, read]);

  return (
    <div className="inspector" data-testid="inspector">
      {node ? (
        <>
          <h3>{node.label}</h3>
          <dl className="kv">
            <dt>kind</dt>
            <dd>{node.kind}</dd>
            {node.detail && (
              <>
                <dt>type</dt>
                <dd>{node.detail}</dd>
              </>
            )}
            <dt>offset</dt>
            <dd data-testid="inspector-offset">{placeOf(node, streamBase, offsetSpace)}</dd>
            <dt>length</dt>
            <dd data-testid="inspector-length">{node.length} bytes</dd>
            {node.value && (
              <>
                <dt>value</dt>
                <dd data-testid="inspector-value">
                  {shortValue(node.value)}
                  {node.value.kind === 'int' ? ` (${node.value.dec})` : ''}
                </dd>
              </>
            )}
            {fieldAddress && (
              <>
                <dt>address</dt>
                <dd data-testid="field-address">{fieldAddress}</dd>
              </>
            )}
            {node.guestPage && (
              <>
                <dt>RAM block</dt>
                <dd>
                  {node.guestPage.block}+{hexOffset(node.guestPage.blockOffset)}
                </dd>
                <dt>guest-physical</dt>
                <dd>{node.guestPage.gpa !== undefined ? hexOffset(node.guestPage.gpa) : 'not mapped by this machine'}</dd>
              </>
            )}
            {node.damaged && (
              <>
                <dt>status</dt>
                <dd style={{ color: 'var(--error)' }}>damaged; see Diagnostics</dd>
              </>
            )}
          </dl>
          {fieldAddress && node.kind === 'field' && canEdit && (
            <EditForm key={`${node.id}:${node.value ? shortValue(node.value) : ''}`} label="Set value" initial={editableText(node)} onSubmit={(v) => onSetField(fieldAddress, v)} />
          )}
        </>
      ) : (
        <p className="hint">Select a node in the structure tree or a byte in the hex view.</p>
      )}
      <h3>
        At cursor {hexOffset(cursor)}
        {space === 'file' ? ' (file)' : ''}
      </h3>
      {space === 'stream' && node?.guestPage && <GuestByte page={node.guestPage} cursor={cursor} onShow={onShowGuest} />}
      {space === 'stream' && canEdit && <EditForm key={cursor} label="Overwrite bytes here (hex)" initial="" onSubmit={(hex) => onOverwrite(cursor, hex)} />}
      <dl className="kv" data-testid="data-inspector">
        {bytes &&
          inspectBytes(bytes).map((r) => (
            <div key={r.label} style={{ display: 'contents' }}>
              <dt>{r.label}</dt>
              <dd>{r.value}</dd>
            </div>
          ))}
      </dl>
    </div>
  );
});

/**
 * The guest byte under the cursor when it is inside a page record's data: for a PAGE (or
 * mapped-ram) record the byte itself, with its block offset and guest-physical address;
 * for encoded data (zlib, XBZRLE, a ZERO fill byte) the page it encodes.
 */
function GuestByte({ page, cursor, onShow }: { page: PageOfRecord; cursor: number; onShow: Props['onShowGuest'] }) {
  if (cursor < page.dataOffset || cursor >= page.dataOffset + page.dataLength) return null;
  const inPage = page.literal ? cursor - page.dataOffset : 0;
  const where = page.gpa !== undefined ? { gpa: page.gpa + inPage } : { block: page.block, offset: page.blockOffset + inPage };
  return (
    <dl className="kv" data-testid="guest-byte">
      <dt>{page.literal ? 'guest byte' : 'encodes page'}</dt>
      <dd>
        {page.block}+{hexOffset(page.blockOffset + inPage)}
      </dd>
      <dt>guest-physical</dt>
      <dd data-testid="guest-byte-gpa">{page.gpa !== undefined ? hexOffset(page.gpa + inPage) : 'not mapped'}</dd>
      <dt />
      <dd>
        <button onClick={() => onShow(where)} title={page.literal ? 'Show this byte in guest memory' : 'Show the decoded page in guest memory'}>
          Show in guest memory
        </button>
      </dd>
    </dl>
  );
}

/**
 * Where a node is: wrapper nodes are in the file; stream nodes also get their file offset
 * when the file holds the stream as is, or say which space their offset is in.
 */
function placeOf(node: TreeNode, streamBase: number | null, offsetSpace: OffsetSpace): string {
  return OffsetMap.ofImage({ streamBase, offsetSpace }).describe(node.offset, node.space ?? 'stream', hexOffset);
}

/** One line to type a new value into, applied with Enter or the button. */
function EditForm({ label, initial, onSubmit }: { label: string; initial: string; onSubmit(value: string): void }) {
  const [value, setValue] = useState(initial);
  return (
    <form className="edit-form" onSubmit={(e) => (e.preventDefault(), value.trim() && onSubmit(value.trim()))}>
      <input type="text" value={value} onChange={(e) => setValue(e.target.value)} aria-label={label} placeholder={label} />
      <button type="submit" disabled={!value.trim()}>
        Apply
      </button>
    </form>
  );
}

/** The field's value as the edit form starts with it: what `migwb edit --set` would take. */
function editableText(node: TreeNode): string {
  const v: FieldValue | undefined = node.value;
  if (!v) return '';
  switch (v.kind) {
    case 'int':
      return v.hex;
    case 'bool':
    case 'float':
      return String(v.value);
    case 'bytes':
      return v.truncated ? '' : v.hex.replace(/ /g, '');
    case 'text':
      return v.value;
    case 'nullptr':
      return '';
  }
}
