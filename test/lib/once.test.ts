import { once } from '../../src/lib/once';

describe('once', () => {
  it('creates once and shares the result', async () => {
    let made = 0;
    const get = once(() => Promise.resolve(++made));
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(made).toBe(1);
  });

  it('forgets a failed creation so the next call tries again', async () => {
    let calls = 0;
    const get = once(() => (++calls === 1 ? Promise.reject(new Error('down')) : Promise.resolve('up')));
    await expect(get()).rejects.toThrow('down');
    expect(await get()).toBe('up');
    expect(await get()).toBe('up');
    expect(calls).toBe(2);
  });
});
