import { describe, expect, it } from 'vitest';
import { SecondChanceTable } from '../../src/cache/second-chance.js';

describe('SecondChanceTable', () => {
  it('remembers a key on its first miss and stores it on the second', () => {
    const t = new SecondChanceTable<string>(16, 4);
    const key = Int32Array.of(1, 2, 3, -4);
    const slot = t.slotOf(key, 4);
    expect(t.get(slot, key, 4)).toBeNull();
    expect(t.firstMiss(slot)).toBe(true);
    expect(t.slotOf(key, 4)).toBe(slot);
    expect(t.firstMiss(slot)).toBe(false);
    t.store(slot, key, 4, 'v', t.current);
    expect(t.get(slot, key, 4)).toBe('v');
  });

  it('compares every key word, and only the first len', () => {
    const t = new SecondChanceTable<string>(16, 4);
    const key = Int32Array.of(1, 2, 3, 4);
    const slot = t.slotOf(key, 3);
    t.store(slot, key, 3, 'v', t.current);
    expect(t.get(slot, Int32Array.of(1, 2, 3, 99), 3)).toBe('v');
    expect(t.get(slot, Int32Array.of(1, 2, 7, 4), 3)).toBeNull();
  });

  it('makes every entry stale on invalidate, and an entry stored with an old generation is stale', () => {
    const t = new SecondChanceTable<string>(16, 2);
    const key = Int32Array.of(5, 6);
    const slot = t.slotOf(key, 2);
    const before = t.current;
    t.store(slot, key, 2, 'v', before);
    t.invalidate();
    expect(t.get(slot, key, 2)).toBeNull();
    t.store(slot, key, 2, 'w', before);
    expect(t.get(slot, key, 2)).toBeNull();
  });

  it('hashes as FNV-1a over the words with a final mix (br0 seeds it with the start table as word 0)', () => {
    const t = new SecondChanceTable<string>(1024, 3);
    const key = Int32Array.of(31, 0x0a800002, -1);
    let h = 0x811c9dc5 | 0;
    for (const w of key) h = Math.imul(h ^ w, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    expect(t.slotOf(key, 3)).toBe(h & 1023);
  });
});
