/**
 * A guest that drives a virtio-serial controller (legacy virtio-pci at 00:03.0) as a guest
 * driver does, far enough to leave state worth finding: it sets up the control queues and
 * the queues of ports 1-3, announces itself (DEVICE_READY, PORT_READY), opens ports 1 and 3
 * (PORT_OPEN: guest_connected), offers receive buffers on port 1, and queues data on the
 * transmit queues of ports 1 and 3 without notifying the device, so the save holds
 * guest-to-host data QEMU has not taken yet.
 */
export const VMCHANNEL_GUEST = {
  /** Ports the guest opens. */
  opened: [1, 3],
  /** Data the guest leaves queued for the host, per port (transmit queue, no notify). */
  pending: { 1: 'vdagent message left in the transmit queue\n', 3: 'migwb: guest-to-host bytes the host never read\n' } as Record<number, string>,
  /** Receive buffers offered on port 1 (device-writable), each this long. */
  rxBuffers: { port: 1, count: 2, length: 4096 },
} as const;

const G = VMCHANNEL_GUEST;
/** Ring memory: queue q at RINGS + q * 0x2000; buffers from BUFS on. */
const RINGS = 0x20000;
const BUFS = 0x40000;

function bytes(text: string): string {
  return Array.from(text, (c) => c.charCodeAt(0)).join(', ');
}

/** Data the program copies into guest buffers. */
const DATA = Object.entries(G.pending)
  .map(([port, text]) => `data${port}:\n  .byte ${bytes(text)}\n`)
  .join('');

function queueData(port: number, slot: number): string {
  const text = G.pending[port];
  return `
  mov esi, offset data${port}
  mov edi, ${BUFS + 0x1000 * (slot + 1)}
  mov ecx, ${text.length}
  call copy
  mov ax, ${2 * port + 3}
  mov ebx, ${BUFS + 0x1000 * (slot + 1)}
  mov ecx, ${text.length}
  xor dx, dx
  call add_buf
`;
}

export const VMCHANNEL_PROGRAM = `
  .p2align 2
vio: .word 0
qnum: .long 0
ctl_count: .long 0
${DATA}
/* copy(esi = source in segment 0, edi = linear destination, ecx = bytes) */
copy:
  mov al, byte ptr [si]
  mov byte ptr fs:[edi], al
  inc si
  inc edi
  dec ecx
  jnz copy
  ret

/* ring(ax = queue) -> edi = its ring memory */
ring:
  movzx edi, ax
  shl edi, 13
  add edi, ${RINGS}
  ret

/*
 * add_buf(ax = queue, ebx = buffer address, ecx = length, dx = descriptor flags): one
 * descriptor, put in the avail ring (avail.idx + 1); no notify. The queue size is 128 for
 * port queues, 32 for control queues (virtio-serial-bus.c); the avail ring follows the table.
 */
add_buf:
  push ax
  call ring
  pop ax
  push eax
  cmp ax, 4
  mov eax, 128
  jae 1f
  mov eax, 32
1:
  mov dword ptr [qnum], eax
  pop eax
  /* esi = avail ring: desc + num * 16 */
  mov esi, dword ptr [qnum]
  shl esi, 4
  add esi, edi
  /* the descriptor index = avail.idx % num */
  push eax
  movzx eax, word ptr fs:[esi + 2]
  push edx
  xor edx, edx
  div dword ptr [qnum]
  mov eax, edx
  pop edx
  /* desc[eax] = { ebx, ecx, dx, 0 } */
  push eax
  shl eax, 4
  mov dword ptr fs:[edi + eax], ebx
  mov dword ptr fs:[edi + eax + 4], 0
  mov dword ptr fs:[edi + eax + 8], ecx
  mov word ptr fs:[edi + eax + 12], dx
  mov word ptr fs:[edi + eax + 14], 0
  pop eax
  /* avail.ring[idx % num] = eax; idx++ */
  mov word ptr fs:[esi + 4 + eax * 2], ax
  inc word ptr fs:[esi + 2]
  pop eax
  ret

/* control(bx = port id, cx = event, dx = value): a virtio_console_control on c_ovq (queue 3), notified, waited for */
control:
  mov edi, dword ptr [ctl_count]
  shl edi, 3
  add edi, ${BUFS}
  movzx ebx, bx
  mov dword ptr fs:[edi], ebx
  mov word ptr fs:[edi + 4], cx
  mov word ptr fs:[edi + 6], dx
  mov ebx, edi
  mov ecx, 8
  xor dx, dx
  mov ax, 3
  call add_buf
  inc dword ptr [ctl_count]
  mov dx, word ptr [vio]
  add dx, 16
  mov ax, 3
  out dx, ax
  /* used ring of queue 3: desc 32 * 16 + avail 4 + 2 * 32 + 2, aligned to 4096 */
  mov ax, 3
  call ring
2:
  movzx eax, word ptr fs:[edi + 4096 + 2]
  cmp eax, dword ptr [ctl_count]
  jne 2b
  ret

main:
  call unreal
  mov eax, 0x80001810
  call pci_read
  and ax, 0xfffc
  mov word ptr [vio], ax
  /* enable I/O decoding and bus mastering */
  mov eax, 0x80001804
  call pci_read
  or eax, 5
  mov ebx, eax
  mov eax, 0x80001804
  call pci_write

  mov dx, word ptr [vio]
  add dx, 18
  xor al, al
  out dx, al
  mov al, 1
  out dx, al
  mov al, 3
  out dx, al
  /* guest features: VIRTIO_CONSOLE_F_MULTIPORT */
  mov dx, word ptr [vio]
  add dx, 4
  mov eax, 2
  out dx, eax

  /* queues 0-9: control and ports 0-3; QUEUE_PFN = ring address >> 12 */
  xor cx, cx
3:
  mov dx, word ptr [vio]
  add dx, 14
  mov ax, cx
  out dx, ax
  call ring
  mov eax, edi
  shr eax, 12
  mov dx, word ptr [vio]
  add dx, 8
  out dx, eax
  inc cx
  cmp cx, 10
  jb 3b

  mov dx, word ptr [vio]
  add dx, 18
  mov al, 7
  out dx, al

  /* DEVICE_READY, PORT_READY for ports 1-3, PORT_OPEN for the opened ports */
  xor bx, bx
  xor cx, cx
  mov dx, 1
  call control
${[1, 2, 3].map((p) => `  mov bx, ${p}\n  mov cx, 3\n  mov dx, 1\n  call control\n`).join('')}
${G.opened.map((p) => `  mov bx, ${p}\n  mov cx, 6\n  mov dx, 1\n  call control\n`).join('')}
  /* receive buffers on port ${G.rxBuffers.port} (device-writable) */
${Array.from({ length: G.rxBuffers.count }, (_, i) => `  mov ax, ${2 * G.rxBuffers.port + 2}\n  mov ebx, ${BUFS + 0x10000 + i * G.rxBuffers.length}\n  mov ecx, ${G.rxBuffers.length}\n  mov dx, 2\n  call add_buf\n`).join('')}
${Object.keys(G.pending).map((p, i) => queueData(Number(p), i)).join('')}
  mov ax, 0
  call signal
  jmp halt
`;
