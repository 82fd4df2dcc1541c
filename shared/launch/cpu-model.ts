import type { CpuSpec, Evidence, Finding, TargetArch } from './hardware';
import type { SectionFacts } from './section-facts';

/**
 * The CPU count (one `cpu` section per vCPU) and, where the state reveals it, the model.
 *
 * ARM: the cpreg list carries MIDR (cp15 c0/c0/0, KVM-style index 0x40200000200f0000) of
 * 32-bit cores, and the loader rejects a stream whose cpreg list the destination's CPU
 * lacks (target/arm/machine.c cpu_post_load), so the model matters. x86: a vCPU that never
 * ran still holds CPUID leaf 1 EAX in EDX (x86_cpu_reset: env->regs[R_EDX] = cpuid_version);
 * the x86 loader does not depend on the model.
 */
const ARM_MIDR_TO_MODEL: Readonly<Record<number, string>> = {
  0x410fc075: 'cortex-a7',
  0x410fc080: 'cortex-a8',
  0x410fc090: 'cortex-a9',
  0x414fc0f0: 'cortex-a15',
  0x41069265: 'arm926',
  0x4117b363: 'arm1136',
  0x410fb022: 'arm11mpcore',
};
const ARM_MIDR_INDEX = 0x40200000200f0000n;

/**
 * CPUID.1.EAX of QEMU's generic x86 models (target/i386/cpu.c builtin_x86_defs: family,
 * model, stepping). Where a signature is also the default model's (qemu64 is family 6
 * model 6 stepping 3, like qemu32, on old machine types), no -cpu is given: the default is it.
 */
const X86_SIGNATURES: Readonly<Record<number, { model?: string; says: string }>> = {
  0x00060fb1: { says: "qemu64, QEMU's default model" },
  0x00000663: { says: "qemu64 of old machine types (QEMU's default), or qemu32" },
  0x00000f61: { model: 'kvm64', says: 'kvm64' },
};

export function deriveCpus(cpus: SectionFacts[], arch: TargetArch, findings: Finding[]): CpuSpec {
  const count = cpus.length || 1;
  const evidence: Evidence[] = cpus.length ? [{ section: 'cpu', offset: cpus[0].element.offset, says: `${cpus.length} cpu section${cpus.length === 1 ? '' : 's'} (instances ${cpus.map((c) => c.instance).join(', ')})` }] : [];
  if (!cpus.length) findings.push({ level: 'warning', message: 'the stream has no cpu section; one vCPU assumed' });
  const first = cpus[0];
  if (!first) return { count, evidence };
  if (arch === 'arm' || arch === 'aarch64') {
    const midr = armMidr(first);
    const model = midr !== undefined ? ARM_MIDR_TO_MODEL[midr.value] : undefined;
    if (model) return { count, model, evidence: [...evidence, first.at(midr!.path, `MIDR 0x${midr!.value.toString(16)}: ${model}`)] };
    findings.push({
      level: 'warning',
      section: 'cpu',
      message: `the ARM CPU model is not revealed${midr ? ` (MIDR 0x${midr.value.toString(16)} is not in the table)` : ' (no 32-bit MIDR in the cpreg list: a 64-bit core)'}; pass the source's -cpu, or the load fails on the cpreg list`,
    });
    return { count, evidence };
  }
  if (arch === 'x86_64' || arch === 'i386') {
    const atReset = first.int('env.eip') === 0xfff0;
    const signature = first.int('env.regs[2]');
    const known = atReset && signature !== undefined ? X86_SIGNATURES[signature] : undefined;
    if (known) return { count, model: known.model, evidence: [...evidence, first.at('env.regs[2]', `a vCPU at reset holds CPUID.1.EAX 0x${signature!.toString(16)} in EDX: ${known.says}`)] };
    findings.push({
      level: 'info',
      section: 'cpu',
      message: atReset
        ? `the vCPU is at reset with CPUID signature 0x${(signature ?? 0).toString(16)}, which is not one of QEMU's generic models; the default model is used (loading does not depend on it)`
        : 'the x86 cpu state does not record the CPU model once the guest ran; the default model is used (loading does not depend on it; give the source\'s -cpu for a faithful guest)',
    });
  }
  return { count, evidence };
}

function armMidr(cpu: SectionFacts): { value: number; path: string } | undefined {
  const indexes = cpu.field('cpreg_vmstate_indexes')?.children ?? [];
  for (let i = 0; i < indexes.length; i++) {
    const v = indexes[i].value;
    if (v?.kind === 'int' && BigInt(v.hex) === ARM_MIDR_INDEX) {
      const path = `cpreg_vmstate_values[${i}]`;
      const value = cpu.int(path);
      return value === undefined ? undefined : { value, path };
    }
  }
  return undefined;
}

/** ARM: a 32-bit core named by its MIDR runs in qemu-system-arm; anything else needs qemu-system-aarch64. */
export function armArch(cpu: SectionFacts | undefined): TargetArch {
  const midr = cpu && armMidr(cpu);
  return midr && ARM_MIDR_TO_MODEL[midr.value] ? 'arm' : 'aarch64';
}
