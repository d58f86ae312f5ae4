import type { AlertRow } from '../../../src/alert/columns';
import { cellText, displayWidth, fitCells, renderAlerts } from '../../../src/cli/scan/table';
import { sampleAlerts } from '../../support/alerts';

describe('the scan table', () => {
  it('counts terminal cells: wide characters two, combining marks none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('Nguye\u0302\u0303n')).toBe(6);
    expect(fitCells('日本語テキスト', 7, true)).toBe('日本語…');
    expect(displayWidth(fitCells('日本語テキスト', 7, true))).toBe(7);
    expect(fitCells('short', 8, true)).toBe('short   ');
  });

  it('shows control characters from records as ?', () => {
    expect(cellText('a\u001b[31mred\u0007\u202e')).toBe('a?[31mred??');
    expect(cellText('two\n lines')).toBe('two lines');
  });

  it.each([60, 72, 80, 100, 120, 200])('fits every line in %i columns, whatever the values', (width) => {
    const alerts: AlertRow[] = sampleAlerts(6).map((a, i) => ({
      ...a,
      Caller: i % 2 === 0 ? 'Jürgen Groß <jürgen.gross@fabrikam.example>' : '山田太郎@contoso.example',
      CaptureTarget: `/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${'vm'.repeat(i * 10)}`,
    }));
    const lines = renderAlerts(alerts, width);
    expect(Math.max(...lines.map(displayWidth))).toBeLessThanOrEqual(width);
    expect(lines.at(-1)).toMatch(/^6 alerts/);
  });

  it('says so when there is nothing', () => {
    expect(renderAlerts([], 100)).toEqual(['No alerts.']);
  });
});
