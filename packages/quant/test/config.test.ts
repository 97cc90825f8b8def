import { describe, expect, it } from 'vitest';
import { QuantConfigError, quantizerConfig } from '../src/config';
import { kvQuantConfig } from '../src/kv';
import { quantize } from '../src/quantize';

describe('invalid configurations name the field and the allowed values', () => {
  it('bits 0 and 9, unknown backend, axis, dtype, mode', () => {
    expect(() => quantizerConfig({ bits: 0 })).toThrow(/^bits: got 0, allowed: integers 1\.\.8 or 1\.58$/);
    expect(() => quantizerConfig({ bits: 9 }, 'key')).toThrow(/^key\.bits: got 9, allowed: integers 1\.\.8 or 1\.58$/);
    expect(() => quantizerConfig({ bits: 2.5 })).toThrow(QuantConfigError);
    expect(() => quantizerConfig({ backend: 'kivi' as never }, 'value')).toThrow(/^value\.backend: got "kivi", allowed: quanto, hqq$/);
    expect(() => quantizerConfig({ axis: 'per-head' as never })).toThrow(/axis: got "per-head", allowed: per-token, per-channel, quanto-per-channel, hqq-per-channel/);
    expect(() => quantizerConfig({ metaDtype: 'fp8' as never })).toThrow(/metaDtype: got "fp8", allowed: fp32, fp16, bf16/);
    expect(() => quantizerConfig({ hqqMode: 'fast' as never })).toThrow(/hqqMode: got "fast", allowed: faithful, clean/);
    expect(() => quantizerConfig({ groupSize: 0 })).toThrow(/groupSize: got 0, allowed: a positive integer/);
  });

  it('key and value are validated independently, against the tensor shape', () => {
    const kv = kvQuantConfig({ key: { bits: 4, axis: 'per-channel', groupSize: 32 }, value: { bits: 2, groupSize: 128 } }, [1, 8, 64, 128]);
    expect(kv.key).toMatchObject({ bits: 4, axis: 'per-channel', groupSize: 32 });
    expect(kv.value).toMatchObject({ bits: 2, axis: 'per-token', groupSize: 128 });
    expect(() => kvQuantConfig({ key: { axis: 'per-channel', groupSize: 48 } }, [1, 8, 64, 128])).toThrow(/^key\.groupSize: got 48, per-channel .* allowed: 1, 2, 4, 8, 16, 32, 64$/);
    expect(() => kvQuantConfig({ value: { bits: 9 } })).toThrow(/^value\.bits/);
  });

  it('quantize rejects a data length that does not match the shape and layouts that do not fit', () => {
    expect(() => quantize(new Float32Array(10), [1, 1, 2, 8], { groupSize: 8 })).toThrow(/data: has 10 elements, the shape needs 16/);
    expect(() => quantize(new Float32Array(16), [1, 1, 2, 8], { groupSize: 16, axis: 'per-channel' })).toThrow(/groupSize: got 16, per-channel/);
  });
});
