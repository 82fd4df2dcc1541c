import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';

/** A QMP message: a reply (return or error), an event, or the greeting. */
interface QmpMessage {
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  data?: unknown;
}

/** A QMP connection: JSON commands, events collected on the side. */
export class Qmp {
  private buffer = '';
  private readonly waiting: { resolve: (msg: QmpMessage) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  readonly events: QmpMessage[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    // QEMU may exit at any moment (a failed load ends the process): fail whatever waits.
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as QmpMessage;
        if (msg.event) this.events.push(msg);
        else this.waiting.shift()?.resolve(msg);
      }
    });
  }

  /** Connects to a QMP socket; with `proc`, gives up as soon as that QEMU has exited. */
  static async connect(socketPath: string, proc: Pick<ChildProcess, 'exitCode'> | undefined, timeoutMs: number): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc && proc.exitCode !== null) throw new Error(`QEMU exited with status ${proc.exitCode} before QMP was reachable`);
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(socketPath, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        await qmp.next(); // greeting
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (e) {
        if ((proc && proc.exitCode !== null) || Date.now() > deadline) throw e;
        await sleep(50);
      }
    }
  }

  private next(): Promise<QmpMessage> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Runs a command; its `return` value is of the type the caller names (QEMU's QAPI schema says which). */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const reply = this.next();
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const msg = await reply;
    if (msg.error) throw new Error(`QMP ${command}: ${msg.error.desc}`);
    return msg.return as T;
  }

  /** An HMP command line through QMP (human-monitor-command); returns its text output. */
  hmp(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  close(): void {
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
