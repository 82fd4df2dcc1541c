/**
 * A guest that drives QXL natively, as a SPICE guest driver does (qxl_dev.h layouts): it
 * adds two memory slots (the RAM BAR and the VRAM BAR), fills QXLRam.create_surface and
 * issues QXL_IO_CREATE_PRIMARY, draws a pattern into the primary surface in VRAM, sets a
 * one-head monitors config smaller than the surface (QEMU then shows head 0's size), has a
 * cursor SET consumed by the device (QEMU records it as guest_cursor), and finally leaves
 * commands pending: two fill drawables in the command ring and a cursor MOVE in the cursor
 * ring, pushed without a notify, so the save holds non-empty rings.
 *
 * Everything the test checks is below as constants, so the test and the program agree.
 */
export const QXL_GUEST = {
  surface: { width: 640, height: 480, vramOffset: 0x10000, format: 32 },
  head0: { width: 600, height: 400 },
  /** RAM BAR offsets of what the guest writes (slot 1 starts at the RAM BAR). */
  monitorsConfig: 0x2000,
  cursorShape: 0x3000,
  cursorSet: 0x4000,
  cursorMove: 0x4200,
  fills: [0x5000, 0x5200],
  cursor: { x: 100, y: 50, width: 16, height: 16, hotX: 3, hotY: 5 },
  move: { x: 200, y: 150 },
  fillRects: [
    { top: 10, left: 20, bottom: 110, right: 220, colour: 0xff8000 },
    { top: 200, left: 300, bottom: 260, right: 420, colour: 0x0080ff },
  ],
  ramSlot: 1,
  vramSlot: 2,
} as const;

const G = QXL_GUEST;
const RAMHDR = { intPending: 4, cmdRing: 4108, cursorRing: 4640, memSlot: 5276, createSurface: 5292, monitorsConfig: 5340 };

function fillDrawable(at: number, r: (typeof G.fillRects)[number]): string {
  return `
  mov edi, ${at}
  call ram_clear
  mov dword ptr fs:[edi], ${at}
  mov byte ptr fs:[edi + 12], 1
  mov byte ptr fs:[edi + 13], 1
  mov dword ptr fs:[edi + 31], ${r.top}
  mov dword ptr fs:[edi + 35], ${r.left}
  mov dword ptr fs:[edi + 39], ${r.bottom}
  mov dword ptr fs:[edi + 43], ${r.right}
  mov dword ptr fs:[edi + 63], -1
  mov dword ptr fs:[edi + 67], -1
  mov dword ptr fs:[edi + 71], -1
  mov dword ptr fs:[edi + 123], 1
  mov dword ptr fs:[edi + 127], ${r.colour}
  mov word ptr fs:[edi + 143], 8
  mov eax, ${at}
  mov ebx, ${RAMHDR.cmdRing}
  mov cx, 1
  call push_cmd
`;
}

export const QXL_PROGRAM = `
  .p2align 2
rom: .long 0
ram: .long 0
vram: .long 0
hdr: .long 0
iobase: .word 0
gen: .long 0

/* bar(eax = config register of 00:02.0) -> eax = its address */
bar:
  call pci_read
  and eax, 0xfffffff0
  ret

/* qxl_out(dx = port offset, al = value) */
qxl_out:
  add dx, word ptr [iobase]
  out dx, al
  ret

/* phys(bl = slot, eax = offset) -> edx:eax, a QXLPHYSICAL (slot id, generation, offset) */
phys:
  movzx edx, bl
  shl edx, 8
  or edx, dword ptr [gen]
  shl edx, 16
  ret

/* ram_clear(edi = RAM BAR offset) -> edi = its address, 512 bytes zeroed */
ram_clear:
  add edi, dword ptr [ram]
  push edi
  push ecx
  mov ecx, 128
1:
  mov dword ptr fs:[edi], 0
  add edi, 4
  loop 1b
  pop ecx
  pop edi
  ret

/* push_cmd(eax = RAM offset of the command, ebx = ring offset in QXLRam, cx = QXL_CMD_*): prod++, no notify */
push_cmd:
  push edi
  push eax
  mov edi, dword ptr [hdr]
  add edi, ebx
  mov esi, dword ptr fs:[edi + 4]
  and esi, 31
  shl esi, 4
  add esi, edi
  add esi, 20
  push ebx
  mov bl, ${G.ramSlot}
  call phys
  pop ebx
  mov dword ptr fs:[esi], eax
  mov dword ptr fs:[esi + 4], edx
  movzx ecx, cx
  mov dword ptr fs:[esi + 8], ecx
  mov dword ptr fs:[esi + 12], 0
  inc dword ptr fs:[edi + 4]
  pop eax
  pop edi
  ret

/* memslot(al = slot, eax high half unused; esi = start, ecx = size) */
memslot:
  mov edi, dword ptr [hdr]
  mov dword ptr fs:[edi + ${RAMHDR.memSlot}], esi
  mov dword ptr fs:[edi + ${RAMHDR.memSlot + 4}], 0
  add esi, ecx
  mov dword ptr fs:[edi + ${RAMHDR.memSlot + 8}], esi
  mov dword ptr fs:[edi + ${RAMHDR.memSlot + 12}], 0
  mov dx, 8
  call qxl_out
  ret

main:
  call unreal
  mov eax, 0x80001018
  call bar
  mov dword ptr [rom], eax
  mov eax, 0x80001010
  call bar
  mov dword ptr [ram], eax
  mov eax, 0x80001014
  call bar
  mov dword ptr [vram], eax
  mov eax, 0x8000101c
  call pci_read
  and ax, 0xfffc
  mov word ptr [iobase], ax
  mov esi, dword ptr [rom]
  mov eax, dword ptr fs:[esi + 44]
  add eax, dword ptr [ram]
  mov dword ptr [hdr], eax
  movzx eax, byte ptr fs:[esi + 68]
  mov dword ptr [gen], eax

  mov esi, dword ptr [ram]
  mov ecx, 0x800000
  mov al, ${G.ramSlot}
  call memslot
  mov esi, dword ptr [vram]
  mov ecx, 0x1000000
  mov al, ${G.vramSlot}
  call memslot

  /* QXLRam.create_surface, then QXL_IO_CREATE_PRIMARY */
  mov edi, dword ptr [hdr]
  add edi, ${RAMHDR.createSurface}
  mov dword ptr fs:[edi], ${G.surface.width}
  mov dword ptr fs:[edi + 4], ${G.surface.height}
  mov dword ptr fs:[edi + 8], ${G.surface.width * 4}
  mov dword ptr fs:[edi + 12], ${G.surface.format}
  mov dword ptr fs:[edi + 16], 0
  mov dword ptr fs:[edi + 20], 1
  mov dword ptr fs:[edi + 24], 0
  mov dword ptr fs:[edi + 28], 0
  mov bl, ${G.vramSlot}
  mov eax, ${G.surface.vramOffset}
  call phys
  mov dword ptr fs:[edi + 32], eax
  mov dword ptr fs:[edi + 36], edx
  mov dx, 12
  xor al, al
  call qxl_out

  mov edi, dword ptr [vram]
  add edi, ${G.surface.vramOffset}
  mov ecx, ${G.surface.width * G.surface.height}
  call fill

  /* one head, smaller than the surface; QXL_IO_MONITORS_CONFIG_ASYNC, wait for QXL_INTERRUPT_IO_CMD */
  mov edi, ${G.monitorsConfig}
  call ram_clear
  mov word ptr fs:[edi], 1
  mov word ptr fs:[edi + 2], 1
  mov dword ptr fs:[edi + 12], ${G.head0.width}
  mov dword ptr fs:[edi + 16], ${G.head0.height}
  mov edi, dword ptr [hdr]
  mov bl, ${G.ramSlot}
  mov eax, ${G.monitorsConfig}
  call phys
  mov dword ptr fs:[edi + ${RAMHDR.monitorsConfig}], eax
  mov dword ptr fs:[edi + ${RAMHDR.monitorsConfig + 4}], edx
  mov dx, 24
  xor al, al
  call qxl_out
2:
  mov edi, dword ptr [hdr]
  test dword ptr fs:[edi + ${RAMHDR.intPending}], 4
  jz 2b

  /* the cursor shape (16x16 alpha) and a SET command, consumed by the device */
  mov edi, ${G.cursorShape}
  call ram_clear
  mov dword ptr fs:[edi], 0x5c0
  mov word ptr fs:[edi + 8], 0
  mov word ptr fs:[edi + 10], ${G.cursor.width}
  mov word ptr fs:[edi + 12], ${G.cursor.height}
  mov word ptr fs:[edi + 14], ${G.cursor.hotX}
  mov word ptr fs:[edi + 16], ${G.cursor.hotY}
  mov dword ptr fs:[edi + 18], ${G.cursor.width * G.cursor.height * 4}
  mov dword ptr fs:[edi + 22], ${G.cursor.width * G.cursor.height * 4}
  add edi, 42
  mov ecx, ${G.cursor.width * G.cursor.height}
  call fill
  mov edi, ${G.cursorSet}
  call ram_clear
  mov dword ptr fs:[edi], ${G.cursorSet}
  mov byte ptr fs:[edi + 8], 0
  mov word ptr fs:[edi + 9], ${G.cursor.x}
  mov word ptr fs:[edi + 11], ${G.cursor.y}
  mov byte ptr fs:[edi + 13], 1
  push edi
  mov bl, ${G.ramSlot}
  mov eax, ${G.cursorShape}
  call phys
  pop edi
  mov dword ptr fs:[edi + 14], eax
  mov dword ptr fs:[edi + 18], edx
  mov eax, ${G.cursorSet}
  mov ebx, ${RAMHDR.cursorRing}
  mov cx, 3
  call push_cmd
  mov dx, 1
  xor al, al
  call qxl_out
3:
  mov edi, dword ptr [hdr]
  mov eax, dword ptr fs:[edi + ${RAMHDR.cursorRing + 4}]
  cmp eax, dword ptr fs:[edi + ${RAMHDR.cursorRing + 12}]
  jne 3b

  /*
   * The consumed cursor command counts as a command for QEMU's display refresh, whose next
   * qxl_render_update asks the SPICE server for an update_area, which takes every command
   * in the command ring. Wait a second (BIOS ticks at 0x46c) so that happens before the
   * commands meant to stay pending are pushed.
   */
  mov eax, dword ptr [0x46c]
  add eax, 18
4:
  cmp dword ptr [0x46c], eax
  jb 4b

  /* left pending: a cursor MOVE and two fills, no notify */
  mov edi, ${G.cursorMove}
  call ram_clear
  mov dword ptr fs:[edi], ${G.cursorMove}
  mov byte ptr fs:[edi + 8], 1
  mov word ptr fs:[edi + 9], ${G.move.x}
  mov word ptr fs:[edi + 11], ${G.move.y}
  mov eax, ${G.cursorMove}
  mov ebx, ${RAMHDR.cursorRing}
  mov cx, 3
  call push_cmd
${G.fills.map((at, i) => fillDrawable(at, G.fillRects[i])).join('')}
  mov ax, 0
  call signal
  jmp halt
`;
