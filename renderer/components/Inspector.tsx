import { memo, useEffect, useState } from 'react';
import type { TreeNode } from '../../shared/api/contract';
import { inspectBytes } from '../../shared/inspect/data-inspector';
import { hexOffset } from '../api';
import { shortValue } from './StructureTree';

interface Props {
  node: TreeNode | null;
  cursor: number;
  /** Absolute file offset of stream byte 0, when the stream is stored raw in the file. */
  streamBase: number | null;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The selected node (its bytes, type and value) and the bytes at the cursor read as every type. */
export const Inspector = memo(function Inspector({ node, cursor, streamBase, read }: Props) {
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
            <dd data-testid="inspector-offset">
              {hexOffset(node.offset)} ({node.offset}){streamBase ? ` · file ${hexOffset(streamBase + node.offset)}` : ''}
            </dd>
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
            {node.damaged && (
              <>
                <dt>status</dt>
                <dd style={{ color: 'var(--error)' }}>damaged; see Diagnostics</dd>
              </>
            )}
          </dl>
        </>
      ) : (
        <p className="hint">Select a node in the structure tree or a byte in the hex view.</p>
      )}
      <h3>At cursor {hexOffset(cursor)}</h3>
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
