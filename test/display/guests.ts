/**
 * The guests of the screen tests: one program per display device that puts a known picture
 * on the screen, step after step (signal the step, wait for a key, next step), so one boot
 * gives a save per mode. Assembled by test/helpers/boot-program.ts.
 */

/** A step of a guest: what the screen shows after it, for test names. */
export interface GuestStep {
  name: string;
  /** The fewest colours the picture has (a guard against comparing two blank screens). */
  minColours: number;
}

/** Macros shared by the std VGA program: Bochs dispi registers through ports 0x1ce/0x1cf. */
const DISPI = `
/* dispi(bx = index, ax = value) */
dispi:
  push dx
  push ax
  mov dx, 0x1ce
  mov ax, bx
  out dx, ax
  pop ax
  mov dx, 0x1cf
  out dx, ax
  pop dx
  ret

/* vbe_mode(si = xres, di = yres, cx = bpp, dx = extra ENABLE bits): a linear-framebuffer mode */
vbe_mode:
  push dx
  mov bx, 4
  xor ax, ax
  call dispi
  mov bx, 1
  mov ax, si
  call dispi
  mov bx, 2
  mov ax, di
  call dispi
  mov bx, 3
  mov ax, cx
  call dispi
  pop dx
  mov bx, 4
  mov ax, dx
  or ax, 0x41
  call dispi
  ret

/* fill_lfb(ecx = dwords): the pattern over the VGA's BAR0 (00:02.0) */
fill_lfb:
  push ecx
  call unreal
  mov eax, 0x80001010
  call pci_read
  and eax, 0xfffffff0
  mov edi, eax
  pop ecx
  call fill
  ret

/* step(ax = n): signal n, wait for the test's key */
step:
  call signal
  call wait_key
  ret
`;

/** Writes 16 bytes of text attribute pattern: cell i gets character i and an attribute mixing i's bits. */
const TEXT_FILL = `
/* text_fill(cx = cells): characters and attributes at b800:0 */
text_fill:
  push es
  push 0xb800
  pop es
  xor di, di
  xor bx, bx
1:
  mov al, bl
  mov ah, bl
  rol ah, 3
  xor ah, bh
  mov word ptr es:[di], ax
  add di, 2
  inc bx
  cmp bx, cx
  jb 1b
  pop es
  ret

/* plane_fill(cx = bytes per plane): each of the 4 planes gets its own pattern through the map mask */
plane_fill:
  push es
  push 0xa000
  pop es
  mov bl, 1
2:
  mov dx, 0x3c4
  mov al, 2
  out dx, al
  inc dx
  mov al, bl
  out dx, al
  xor di, di
3:
  mov ax, di
  xor al, ah
  imul ax, ax, 0x4d
  add al, bl
  mov byte ptr es:[di], al
  inc di
  cmp di, cx
  jb 3b
  shl bl, 1
  cmp bl, 16
  jb 2b
  pop es
  ret

/* byte_fill(es = segment, cx = bytes): a pattern through the CPU window (chain-4, CGA odd/even) */
byte_fill:
  xor di, di
4:
  mov ax, di
  shr ax, 3
  xor al, ah
  xor ax, di
  mov byte ptr es:[di], al
  inc di
  cmp di, cx
  jb 4b
  ret

/* dac_fill(bl = multiplier): 256 DAC entries of 3 values */
dac_fill:
  mov dx, 0x3c8
  xor al, al
  out dx, al
  inc dx
  xor cx, cx
5:
  mov al, cl
  mul bl
  out dx, al
  inc cx
  cmp cx, 768
  jb 5b
  ret
`;

export const VGA_STEPS: GuestStep[] = [
  { name: 'SeaBIOS text as the firmware left it', minColours: 2 },
  { name: 'text 80x25, every character and attribute, block cursor', minColours: 16 },
  { name: 'text 40x25 (16-dot cells)', minColours: 16 },
  { name: 'text 80x50 (8x8 font)', minColours: 16 },
  { name: 'mode 13h, 320x200 256 colours (chain-4), own DAC palette', minColours: 60 },
  { name: 'mode 12h, 640x480 16 colours (planar)', minColours: 12 },
  { name: 'mode 0Dh, 320x200 16 colours (planar, pixels doubled)', minColours: 12 },
  { name: 'mode 04h, 320x200 4 colours (CGA)', minColours: 4 },
  { name: 'mode 06h, 640x200 2 colours (CGA)', minColours: 2 },
  { name: 'VBE 1024x768x32', minColours: 500000 },
  { name: 'VBE 800x600x24', minColours: 400000 },
  { name: 'VBE 640x480x16', minColours: 60000 },
  { name: 'VBE 640x480x15', minColours: 30000 },
  { name: 'VBE 640x480x8 with the 8-bit DAC (not migrated)', minColours: 60 },
  { name: 'VBE 640x480x32, virtual width 800, offsets 8,16', minColours: 250000 },
];

/** The std VGA program: VGA_STEPS in order. */
export const VGA_PROGRAM = `
${DISPI}
${TEXT_FILL}
main:
  mov ax, 0
  call step

  mov ax, 0x0003
  int 0x10
  mov cx, 2000
  call text_fill
  mov ah, 1
  mov cx, 0x000f
  int 0x10
  mov ah, 2
  xor bh, bh
  /* row 12, column 41: a cell whose foreground and background differ, so the block cursor shows */
  mov dx, 0x0c29
  int 0x10
  mov ax, 1
  call step

  mov ax, 0x0001
  int 0x10
  mov cx, 1000
  call text_fill
  mov ah, 2
  xor bh, bh
  mov dx, 0x050a
  int 0x10
  mov ax, 2
  call step

  mov ax, 0x0003
  int 0x10
  mov ax, 0x1112
  xor bl, bl
  int 0x10
  mov cx, 4000
  call text_fill
  mov ax, 3
  call step

  mov ax, 0x0013
  int 0x10
  push 0xa000
  pop es
  mov cx, 64000
  call byte_fill
  push 0
  pop es
  mov bl, 5
  call dac_fill
  mov ax, 4
  call step

  mov ax, 0x0012
  int 0x10
  mov cx, 38400
  call plane_fill
  mov ax, 5
  call step

  mov ax, 0x000d
  int 0x10
  mov cx, 16000
  call plane_fill
  mov ax, 6
  call step

  mov ax, 0x0004
  int 0x10
  push 0xb800
  pop es
  mov cx, 0x4000
  call byte_fill
  push 0
  pop es
  mov ax, 7
  call step

  mov ax, 0x0006
  int 0x10
  push 0xb800
  pop es
  mov cx, 0x4000
  call byte_fill
  push 0
  pop es
  mov ax, 8
  call step

  mov si, 1024
  mov di, 768
  mov cx, 32
  xor dx, dx
  call vbe_mode
  mov ecx, 1024*768
  call fill_lfb
  mov ax, 9
  call step

  mov si, 800
  mov di, 600
  mov cx, 24
  xor dx, dx
  call vbe_mode
  mov ecx, 800*600*3/4
  call fill_lfb
  mov ax, 10
  call step

  mov si, 640
  mov di, 480
  mov cx, 16
  xor dx, dx
  call vbe_mode
  mov ecx, 640*480/2
  call fill_lfb
  mov ax, 11
  call step

  mov si, 640
  mov di, 480
  mov cx, 15
  xor dx, dx
  call vbe_mode
  mov ecx, 640*480/2
  call fill_lfb
  mov ax, 12
  call step

  mov si, 640
  mov di, 480
  mov cx, 8
  mov dx, 0x20
  call vbe_mode
  mov ecx, 640*480/4
  call fill_lfb
  mov bl, 7
  call dac_fill
  mov ax, 13
  call step

  mov si, 640
  mov di, 480
  mov cx, 32
  xor dx, dx
  call vbe_mode
  mov bx, 6
  mov ax, 800
  call dispi
  mov bx, 8
  mov ax, 8
  call dispi
  mov bx, 9
  mov ax, 16
  call dispi
  mov ecx, 800*520
  call fill_lfb
  mov ax, 14
  call signal
  jmp halt
`;

/**
 * bochs-display (no VGA): the dispi registers are 16-bit MMIO at 0x500 of BAR2, the
 * framebuffer is BAR0 (00:02.0 with -vga none).
 */
export const BOCHS_DISPLAY_STEPS: GuestStep[] = [
  { name: '640x480x32', minColours: 250000 },
  { name: '800x600x16, virtual width 1024, offsets 16,8', minColours: 60000 },
];

export const BOCHS_DISPLAY_PROGRAM = `
/* mmio_dispi(bx = index, ax = value): BAR2 + 0x500 + index * 2, base in esi */
mmio_dispi:
  movzx ebx, bx
  mov word ptr fs:[esi + 0x500 + ebx * 2], ax
  ret

/* bar(eax = config register of 00:02.0) -> eax = its memory address */
bar:
  call pci_read
  and eax, 0xfffffff0
  ret

/* mmio_mode(cx = xres, dx = yres, di = bpp): disable, program, enable with the linear framebuffer */
mmio_mode:
  call unreal
  mov eax, 0x80001018
  call bar
  mov esi, eax
  mov bx, 4
  xor ax, ax
  call mmio_dispi
  mov bx, 1
  mov ax, cx
  call mmio_dispi
  mov bx, 2
  mov ax, dx
  call mmio_dispi
  mov bx, 3
  mov ax, di
  call mmio_dispi
  ret

mmio_enable:
  mov bx, 4
  mov ax, 0x41
  call mmio_dispi
  ret

/* fill_bar0(ecx = dwords) */
fill_bar0:
  push ecx
  call unreal
  mov eax, 0x80001010
  call bar
  mov edi, eax
  pop ecx
  call fill
  ret

main:
  mov cx, 640
  mov dx, 480
  mov di, 32
  call mmio_mode
  call mmio_enable
  mov ecx, 640*480
  call fill_bar0
  mov ax, 0
  call signal
  call wait_key

  mov cx, 800
  mov dx, 600
  mov di, 16
  call mmio_mode
  mov bx, 6
  mov ax, 1024
  call mmio_dispi
  mov bx, 8
  mov ax, 16
  call mmio_dispi
  mov bx, 9
  mov ax, 8
  call mmio_dispi
  call mmio_enable
  mov ecx, 1024*620/2
  call fill_bar0
  mov ax, 1
  call signal
  jmp halt
`;
